"""How each acceptance of an event's terms was given: signed in on the site, or through the
personal join link (no login). Acceptances recorded before keep '' (not known): some of them
came through the join link, and nothing says which."""

from django.db import migrations, models

CHOICES = [
    ("site", "On the site, signed in"),
    ("join_link", "From their personal join link, not signed in"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0035_join_links"),
    ]

    operations = [
        # The rows there are get '' ...
        migrations.AddField(
            model_name="termsacceptance",
            name="via",
            field=models.CharField(choices=CHOICES, default="", max_length=20),
        ),
        # ... and new ones say how (the services always do).
        migrations.AlterField(
            model_name="termsacceptance",
            name="via",
            field=models.CharField(choices=CHOICES, default="site", max_length=20),
        ),
    ]
