"""API keys: hashed in the keys file, matched in constant time, refused with the field named."""

import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from ecl_core.errors import ConfigError
from ecl_dagster.service.keys import ApiKey, KeyRing, hash_key, load_keys, new_key


def test_a_new_key_is_stored_only_as_its_hash(tmp_path):
    key, entry = new_key("ci")
    assert key.startswith("ecl_") and len(key) == 4 + 43
    assert key not in entry
    assert hashlib.sha256(key.encode()).hexdigest() in entry
    path = tmp_path / "keys.toml"
    path.write_text(entry)
    (loaded,) = load_keys(path)
    assert (loaded.name, loaded.sha256, loaded.requests_per_minute) == (
        "ci", hash_key(key), 120)
    ring = KeyRing([loaded])
    assert ring.match(key) == loaded
    assert ring.match(key[:-1]) is None and ring.match("") is None
    assert new_key("ci")[0] != key


@pytest.mark.parametrize(("text", "named"), [
    ('[[keys]]\nname = "a b"\nsha256 = "' + "0" * 64 + '"\n', "name"),
    ('[[keys]]\nname = "ci"\nsha256 = "abc"\n', "sha256"),
    ('[[keys]]\nname = "ci"\nkey = "ecl_plaintext"\nsha256 = "' + "0" * 64 + '"\n',
     "unknown fields ['key']"),
    ('[[keys]]\nname = "ci"\nsha256 = "' + "0" * 64 + '"\nrequests_per_minute = 0\n',
     "requests_per_minute"),
    ('[[keys]]\nname = "ci"\nsha256 = "' + "0" * 64 + '"\n[[keys]]\nname = "ci"\nsha256 = "'
     + "1" * 64 + '"\n', "used twice"),
    ("keys = 3\n", "array of tables"),
    ("[[keys]\n", "keys.toml"),
])
def test_a_malformed_keys_file_is_refused_naming_the_field(tmp_path, text, named):
    path = tmp_path / "keys.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_keys(path)
    assert named in str(caught.value)
    assert "0" * 64 not in str(caught.value)


def test_a_name_must_be_short_and_plain():
    with pytest.raises(ConfigError, match="1 to 64"):
        new_key("x" * 65)


def test_requests_at_once_are_admitted_up_to_the_rate_and_no_further():
    key, entry = new_key("busy")
    ring = KeyRing([ApiKey("busy", hash_key(key), requests_per_minute=50),
                    ApiKey("roomy", hash_key(key + "x"), requests_per_minute=100_000)])
    busy, roomy = ring.match(key), ring.match(key + "x")
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often, as a busy server's do
    try:
        with ThreadPoolExecutor(8) as pool:
            admitted = list(pool.map(lambda _: ring.admit(busy), range(160)))
            roomy_admitted = list(pool.map(lambda _: ring.admit(roomy), range(2000)))
    finally:
        sys.setswitchinterval(switching)
    assert sum(admitted) == 50
    assert all(roomy_admitted)  # requests at once are not refused below the rate
