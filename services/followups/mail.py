"""SMTP delivery of one message: connection (STARTTLS, implicit TLS or plain), the MIME message (plain text and
HTML), and which failures are worth retrying."""

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from services.core.config import SmtpSettings
from services.followups.templates import Rendered


class Refused(Exception):
    """A failure that retrying will not fix (the server refused the message or its recipients for good)."""


def connect(smtp: SmtpSettings) -> smtplib.SMTP:
    """An SMTP session, logged in when a user is set; the certificate is checked against the system's CAs or the
    configured CA file."""
    context = ssl.create_default_context(cafile=smtp.ca_file or None)
    if smtp.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        if smtp.security == "starttls":
            client.starttls(context=context)
    if smtp.user:
        client.login(smtp.user, smtp.password)
    return client


def addresses(recipients: str, name: str = "") -> list[Address]:
    """The To addresses of a message; the name goes with a single recipient. ValueError for a bad address."""
    found = [a.strip() for a in recipients.split(",") if a.strip()]
    if not found:
        raise ValueError("no recipient address")
    out = []
    for address in found:
        _, addr_spec = parseaddr(address)
        if "@" not in addr_spec:
            raise ValueError(f"'{address}' is not an e-mail address")
        out.append(Address(display_name=name if len(found) == 1 else "", addr_spec=addr_spec))
    return out


def build(*, smtp: SmtpSettings, recipients: str, name: str, language: str, rendered: Rendered, key: str
          ) -> EmailMessage:
    """The message: plain text first, HTML as the alternative; marked as automatic (RFC 3834) so out-of-office
    replies stay away, with the follow-up's key in X-CTPAT-Followup."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = smtp.sender
    message["To"] = addresses(recipients, name)
    if smtp.reply_to:
        message["Reply-To"] = smtp.reply_to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(smtp.sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-CTPAT-Followup"] = key
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    message["Content-Language"] = language  # after the content: setting it clears the Content-* headers
    return message


def send(client: smtplib.SMTP, message: EmailMessage) -> str:
    """Send over an open session; "" or the recipients refused while others got it. Raises Refused when retrying
    cannot help (a 5xx answer), and the smtplib/OS error otherwise."""
    try:
        refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        text = "; ".join(f"{a}: {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                         for a, (c, m) in error.recipients.items())
        if all(c >= 500 for c in codes):
            raise Refused(f"recipients refused: {text}") from None
        raise
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        if error.smtp_code >= 500:
            raise Refused(f"{error.smtp_code} {_text(error.smtp_error)}") from None
        raise
    return "; ".join(f"{a}: {c}" for a, (c, _) in refused.items())


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def describe(error: BaseException) -> str:
    """A failure in one line for the outbox."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.smtp_code} {_text(error.smtp_error)}"[:1000]
    return f"{type(error).__name__}: {error}"[:1000]
