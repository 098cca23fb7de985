from sqlmodel import Field, SQLModel


class DataVersion(SQLModel, table=True):
    """One row whose counter goes up in the same transaction as every write (services.core.data_version).

    Every process reads it once per page run: a higher number than last time means another process (the command
    line, a second app server) wrote, so cached reads are dropped.
    """

    id: int = Field(default=1, primary_key=True)
    version: int = 0
