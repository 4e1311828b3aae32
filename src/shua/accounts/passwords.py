"""Password policy: long enough, not a well-known password, not the login name."""

from __future__ import annotations

from shua.accounts.errors import WeakPassword

MIN_LENGTH = 8
# The most common leaked passwords (SecLists top list); a denylist beats composition rules.
COMMON = frozenset(
    """
    123456 123456789 12345678 password qwerty123 qwerty 1234567 111111 1234567890 123123
    abc123 1234 password1 iloveyou 1q2w3e4r 000000 qwertyuiop 123321 654321 666666 555555
    7777777 88888888 987654321 1qaz2wsx zxcvbnm asdfghjkl a123456 woaini1314 woaini520 aa123456
    qq123456 5201314 1314520 123qwe 147258369 11111111 12341234 00000000 admin123 admin
    welcome password123 passw0rd p@ssw0rd letmein monkey dragon football baseball sunshine
    princess shadow master superman trustno1 starwars whatever qazwsx 112233 121212 abcd1234
    1qazxsw2 q1w2e3r4 zaq12wsx asd123 abcdefg abcdefgh 1a2b3c4d 147258 159357 789456123
    """.split()  # noqa: SIM905 - a word list reads better than 90 quoted strings
)


def check_password(password: str, *, handle: str | None = None, phone: str | None = None) -> None:
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters", reason="too_short")
    if lowered in COMMON or len(set(password)) < 4:
        raise WeakPassword("That password is too common or too simple", reason="too_common")
    if password.isdigit() and len(password) < 12:
        raise WeakPassword("Mix letters into a number-only password", reason="digits_only")
    if handle and handle.lower() in lowered:
        raise WeakPassword("The password must not contain your handle", reason="contains_login")
    if phone and phone.lstrip("+")[-8:] in password:
        raise WeakPassword("The password must not contain your phone number", reason="contains_login")
