# Joins the certified copies (0005_cp) and the search scope (0005_sc) branches.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('documents', '0005_cp_attachments_copies_reviews'),
        ('documents', '0005_sc_search_scope'),
    ]

    operations = [
    ]
