"""`tiendon unlock_account USERNAME`: lift a login lock-out from the server's console."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.units.actions_auth import do_unlock_account, do_unlock_address
from tiendon.units.models import Person


class Command(BaseCommand):
    help = "Unlock an account locked after failed logins (audited as the system)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help="the account to unlock")
        parser.add_argument("--address", help="also unlock this client address")
        parser.add_argument("--as", dest="admin", help="administrator recorded as the actor")

    def handle(self, *args: Any, **options: Any) -> None:
        username, address = options["username"], options["address"]
        if not username and not address:
            raise CommandError("name an account (USERNAME) or an --address to unlock")
        actor = None
        if options["admin"]:
            actor = Person.objects.filter(username=options["admin"], role="admin").first()
            if actor is None:
                raise CommandError(f"{options['admin']} is not an administrator")
        if username:
            person = Person.objects.select_related("unit").filter(username=username).first()
            if person is None:
                raise CommandError(f"no account named {username}")
            was_locked = do_unlock_account(person, actor=actor)
            state = "unlocked" if was_locked else "was not locked; counters cleared"
            self.stdout.write(self.style.SUCCESS(f"{username}: {state}"))
        if address:
            was_locked = do_unlock_address(address, actor=actor)
            state = "unlocked" if was_locked else "was not locked"
            self.stdout.write(self.style.SUCCESS(f"{address}: {state}"))
