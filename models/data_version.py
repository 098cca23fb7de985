from sqlmodel import Field, SQLModel


class DataVersion(SQLModel, table=True):
    """Counters that go up in the same transaction as every write (services.core.data_version): row 1 with any
    write, row 2 with any write but sign-in bookkeeping.

    Every process reads it once per page run: a higher number than last time means another process (the command
    line, a second app server) wrote, so cached reads are dropped.
    """

    id: int = Field(default=1, primary_key=True)
    version: int = 0
