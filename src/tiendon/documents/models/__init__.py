"""The documents app's models, one module per area; import them from here."""

from tiendon.documents.models.attachments import (
    ATTACHMENT_NAME_MAX,
    Attachment,
    IncomingAttachment,
)
from tiendon.documents.models.casefiles import CaseFile, CaseFileEntry
from tiendon.documents.models.copies import CertifiedCopy, CopyForm, IncomingCopy
from tiendon.documents.models.deadlines import DueDate, Reminder
from tiendon.documents.models.documents import (
    SUBJECT_MAX_LENGTH,
    TYPE_ABBREVIATIONS,
    Assignment,
    Document,
    DocumentType,
    DocumentVersion,
    IncomingDocument,
    NumberCounter,
    RecipientGroup,
    Secrecy,
    Series,
    SigningMode,
    Urgency,
)
from tiendon.documents.models.reviews import Reviewer, ReviewStep
from tiendon.documents.models.search import SearchEntry, SearchQueueItem
from tiendon.documents.models.statuses import ReceiptRead, StatusEvent
