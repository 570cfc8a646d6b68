"""How lists of people are ordered: by the name shown, case aside, numbers as numbers
("Person 2" before "Person 10"), by the database on both backends (the `natural_sort`
collation: ICU on PostgreSQL, events migration 0006; registered per connection on SQLite,
config/sqlite/base.py)."""

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Collate, Lower, NullIf

# For querysets of rows with a `user` (registrations, survey recipients); the name shown is
# the display name, else the email.
BY_NAME = Collate(
    Lower(Coalesce(NullIf(F("user__display_name"), Value("")), F("user__email"))), "natural_sort"
)
