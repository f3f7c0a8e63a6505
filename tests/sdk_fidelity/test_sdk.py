"""Fidelity test: the official Dropbox Python SDK (dropbox==12.2.4) against our emulator.

The SDK only speaks HTTPS and reads its hosts from the environment at import time, so this module starts `dropbox-emulator` with a certificate from a throwaway CA made by
`trustme`, points DROPBOX_API_HOST, DROPBOX_API_CONTENT_HOST and DROPBOX_API_NOTIFY_HOST at it,
and only then imports `dropbox`. Every call must deserialize into the SDK's typed results and
errors; the assertions check the values.

Run through `tests/sdk_fidelity/run.sh` (venv, build), or directly with a Python that has the
requirements installed: `python tests/sdk_fidelity/test_sdk.py`. The emulator binary comes from
$DROPBOX_EMULATOR_BIN or `target/debug/dropbox-emulator`.
"""

import datetime
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import requests
import trustme

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMULATOR_BIN = os.environ.get("DROPBOX_EMULATOR_BIN") or os.path.join(
    REPO, "target", "debug", "dropbox-emulator"
)

# users_common.AccountId is exactly 40 characters; the SDK refuses anything else.
ACCOUNT = "dbid:AAAfidelity000000000000000000000000"
TOKEN = "fidelity-token"
# A second account for the token tests: expiring tokens must not disturb the others.
REFRESH_ACCOUNT = "dbid:AAArefresh0000000000000000000000000"
REFRESH_TOKEN = "fidelity-refresh"
APP_KEY = "fidelity-app-key"

BLOCK = 4 * 1024 * 1024
HEX_REV = re.compile(r"^[0-9a-f]{9,}$")

# Set by setUpModule.
dropbox = None
emulator = None
# Results and errors that decode only leniently: (type, JSON, what strict decoding said).
lenient_only = []


def watch_strict_decoding():
    """The SDK decodes with strict=False, which silently drops fields and tags it does not
    know. Decode everything strictly too and remember what fails, so the emulator cannot
    invent fields, tags or shapes that the spec behind this SDK does not have."""
    serializers = dropbox.dropbox_client.stone_serializers
    lenient = serializers.json_compat_obj_decode

    def checked(data_type, obj, *args, **kwargs):
        strict_kwargs = dict(kwargs, strict=True)
        try:
            lenient(data_type, obj, *args, **strict_kwargs)
        except Exception as error:  # noqa: BLE001 -- recorded and asserted on
            lenient_only.append((getattr(data_type, "definition", data_type), obj, error))
        return lenient(data_type, obj, *args, **kwargs)

    serializers.json_compat_obj_decode = checked


def dropbox_content_hash(data):
    """Dropbox's content hash (4 MiB blocks), written out independently of the SDK's own hasher."""
    digests = b"".join(
        hashlib.sha256(data[start : start + BLOCK]).digest()
        for start in range(0, len(data), BLOCK)
    )
    return hashlib.sha256(digests).hexdigest()


def pattern(size, seed):
    """Deterministic bytes that are not one repeated block."""
    chunk = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB
    data = bytearray()
    counter = 0
    while len(data) < size:
        data += chunk[counter % 251 :] + counter.to_bytes(4, "big")
        counter += 1
    return bytes(data[:size])


class Emulator:
    """`dropbox-emulator` over HTTPS in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="sdk-fidelity-")
        base = self.dir.name
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = os.path.join(base, "ca.pem")
        cert_path = os.path.join(base, "cert.pem")
        key_path = os.path.join(base, "key.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        leaf.private_key_pem.write_to_path(key_path)
        with open(cert_path, "wb") as chain:
            for blob in leaf.cert_chain_pems:
                chain.write(blob.bytes())
        self.root = os.path.join(base, "root")
        config = {
            "root": self.root,
            "client_id": APP_KEY,
            "accounts": [
                {
                    "account_id": ACCOUNT,
                    "email": "fi@example.test",
                    "display_name": "Fi Delity",
                    "access_tokens": [TOKEN],
                },
                {
                    "account_id": REFRESH_ACCOUNT,
                    "email": "re@example.test",
                    "display_name": "Re Fresh",
                    "refresh_tokens": [REFRESH_TOKEN],
                },
            ],
            # 30 s of longpoll become 30 ms.
            "longpoll_time_scale": 0.001,
            # Every longpoll result carries this `backoff` (the SDK leaves waiting to callers).
            "longpoll_backoff_secs": 2,
            "tls": {"cert": cert_path, "key": key_path},
        }
        config_path = os.path.join(base, "emulator.json")
        with open(config_path, "w") as out:
            json.dump(config, out)
        if not os.path.exists(EMULATOR_BIN):
            raise RuntimeError(
                "{} is missing: run `cargo build --bin dropbox-emulator` first".format(EMULATOR_BIN)
            )
        self.stderr = open(os.path.join(base, "emulator.stderr"), "w+")
        self.process = subprocess.Popen(
            [EMULATOR_BIN, "--config", config_path],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        first_line = self.process.stdout.readline().strip()
        match = re.fullmatch(r"listening on https://(127\.0\.0\.1:\d+)", first_line)
        if not match:
            self.process.kill()
            self.stderr.seek(0)
            raise RuntimeError(
                "emulator did not start: {!r}\n{}".format(first_line, self.stderr.read())
            )
        self.host = match.group(1)
        self.base = "https://" + self.host
        # Keep the pipe drained whatever else the emulator prints.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def admin(self, path, body):
        response = requests.post(
            self.base + "/__emulator/" + path, json=body, verify=self.ca_path, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def stop(self):
        """Ctrl-C, as a person would: the emulator saves its index and exits 0."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finally:
            self.stderr.close()
            self.dir.cleanup()


def setUpModule():
    global dropbox, emulator
    assert len(ACCOUNT) == len(REFRESH_ACCOUNT) == 40
    if "dropbox" in sys.modules:
        raise RuntimeError("dropbox was imported before its hosts were set")
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`, which is
    # where the SDK puts `ca_certs`; machines that set them (ours do) would reject the test CA.
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(variable, None)
    emulator = Emulator()
    for variable in ("DROPBOX_API_HOST", "DROPBOX_API_CONTENT_HOST", "DROPBOX_API_NOTIFY_HOST"):
        os.environ[variable] = emulator.host
    import dropbox as sdk  # noqa: E402 -- the hosts are read at import time

    dropbox = sdk
    assert dropbox.__version__ == "12.2.4", dropbox.__version__
    assert dropbox.session.API_HOST == emulator.host
    assert dropbox.session.API_CONTENT_HOST == emulator.host
    assert dropbox.session.API_NOTIFICATION_HOST == emulator.host
    watch_strict_decoding()


def tearDownModule():
    if emulator is not None:
        code = emulator.stop()
        assert code == 0, "emulator exited with {}".format(code)


def client(**kwargs):
    kwargs.setdefault("oauth2_access_token", TOKEN)
    return dropbox.Dropbox(ca_certs=emulator.ca_path, timeout=60, **kwargs)


class SdkFidelity(unittest.TestCase):
    def setUp(self):
        self.dbx = client(max_retries_on_error=0, max_retries_on_rate_limit=0)
        del lenient_only[:]

    def tearDown(self):
        self.assertEqual(lenient_only, [], "responses that only decode with strict=False")

    def api_error(self, call, *args, **kwargs):
        with self.assertRaises(dropbox.exceptions.ApiError) as caught:
            call(*args, **kwargs)
        return caught.exception.error

    def upload(self, path, data, **kwargs):
        metadata = self.dbx.files_upload(data, path, **kwargs)
        self.assertIsInstance(metadata, dropbox.files.FileMetadata)
        return metadata

    # ----- account ---------------------------------------------------------------------------

    def test_current_account(self):
        account = self.dbx.users_get_current_account()
        self.assertIsInstance(account, dropbox.users.FullAccount)
        self.assertEqual(account.account_id, ACCOUNT)
        self.assertEqual(account.email, "fi@example.test")
        self.assertTrue(account.email_verified)
        self.assertFalse(account.disabled)
        self.assertEqual(account.name.display_name, "Fi Delity")
        self.assertEqual(account.name.given_name, "Fi")
        self.assertEqual(account.name.surname, "Delity")
        self.assertEqual(account.name.abbreviated_name, "FD")
        self.assertTrue(account.account_type.is_basic())
        self.assertIsInstance(account.root_info, dropbox.common.UserRootInfo)
        self.assertEqual(account.root_info.root_namespace_id, account.root_info.home_namespace_id)

    def test_unknown_token_is_a_typed_auth_error(self):
        with self.assertRaises(dropbox.exceptions.AuthError) as caught:
            client(oauth2_access_token="no-such-token").users_get_current_account()
        self.assertTrue(caught.exception.error.is_invalid_access_token())

    # ----- folders -----------------------------------------------------------------------------

    def test_create_folder_then_typed_conflict_in_any_case(self):
        created = self.dbx.files_create_folder_v2("/Fidelity Folder")
        self.assertIsInstance(created, dropbox.files.CreateFolderResult)
        folder = created.metadata
        self.assertIsInstance(folder, dropbox.files.FolderMetadata)
        self.assertEqual(folder.name, "Fidelity Folder")
        self.assertEqual(folder.path_lower, "/fidelity folder")
        self.assertEqual(folder.path_display, "/Fidelity Folder")
        self.assertTrue(folder.id.startswith("id:"), folder.id)

        error = self.api_error(self.dbx.files_create_folder_v2, "/FIDELITY folder")
        self.assertIsInstance(error, dropbox.files.CreateFolderError)
        self.assertTrue(error.is_path())
        self.assertTrue(error.get_path().is_conflict())
        self.assertTrue(error.get_path().get_conflict().is_folder())

        again = self.dbx.files_get_metadata("/fidelity FOLDER")
        self.assertIsInstance(again, dropbox.files.FolderMetadata)
        self.assertEqual(again.id, folder.id)

    # ----- upload, download, hashes -------------------------------------------------------------

    def test_upload_and_download_names_with_emoji_and_accents(self):
        path = "/Uploads/Caf\u00e9 \U0001f600 na\u00efve.bin"
        # Three 4 MiB blocks, the last one short: the hash must be the block hash.
        data = pattern(2 * BLOCK + 12345, "emoji")
        expected_hash = dropbox_content_hash(data)
        self.assertEqual(expected_hash, dropbox.content_hash.content_hash(data))
        modified = datetime.datetime(2026, 1, 2, 3, 4, 5)
        uploaded = self.upload(path, data, client_modified=modified)
        self.assertEqual(uploaded.name, "Caf\u00e9 \U0001f600 na\u00efve.bin")
        self.assertEqual(uploaded.path_display, path)
        self.assertEqual(uploaded.path_lower, path.lower())
        self.assertEqual(uploaded.size, len(data))
        self.assertEqual(uploaded.content_hash, expected_hash)
        self.assertRegex(uploaded.rev, HEX_REV)
        self.assertTrue(uploaded.id.startswith("id:"), uploaded.id)
        self.assertEqual(uploaded.client_modified, modified)
        age = datetime.datetime.utcnow() - uploaded.server_modified
        self.assertLess(abs(age.total_seconds()), 300)
        self.assertTrue(uploaded.is_downloadable)

        for read_path in (path, path.upper(), uploaded.id, "rev:" + uploaded.rev):
            metadata, response = self.dbx.files_download(read_path)
            self.assertIsInstance(metadata, dropbox.files.FileMetadata)
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.content, data, read_path)
            self.assertEqual(metadata.name, uploaded.name)
            self.assertEqual(metadata.path_display, path)
            self.assertEqual(metadata.rev, uploaded.rev)
            self.assertEqual(metadata.size, len(data))
            self.assertEqual(metadata.content_hash, expected_hash)
            self.assertEqual(dropbox_content_hash(response.content), metadata.content_hash)

        metadata, response = self.dbx.files_download(path, extra_headers={"Range": "bytes=10-19"})
        self.assertEqual(response.status_code, 206)
        self.assertEqual(response.content, data[10:20])
        self.assertEqual(metadata.size, len(data))

        # The SDK's 12.2 transfer helper: ranged parallel download, checked against the hash.
        from dropbox.file_transfer import Bytes, Downloader, DownloadOptions

        target = Bytes()
        result = Downloader(self.dbx).download(
            path, target, DownloadOptions(parallel_downloads=3)
        )
        self.assertEqual(target.bytes(), data)
        self.assertEqual(result.metadata.rev, uploaded.rev)

    def test_upload_modes_autorename_and_identical_content(self):
        path = "/Modes/report.txt"
        first = self.upload(path, b"first")
        # Same bytes again with mode add: nothing written, same revision.
        same = self.upload(path, b"first")
        self.assertEqual(same.rev, first.rev)

        error = self.api_error(self.dbx.files_upload, b"second", path)
        self.assertIsInstance(error, dropbox.files.UploadError)
        self.assertTrue(error.is_path())
        self.assertTrue(error.get_path().reason.is_conflict())
        self.assertTrue(error.get_path().reason.get_conflict().is_file())

        renamed = self.upload(path, b"second", autorename=True)
        self.assertEqual(renamed.path_display, "/Modes/report (1).txt")

        updated = self.upload(path, b"third", mode=dropbox.files.WriteMode.update(first.rev))
        self.assertEqual(updated.id, first.id)
        self.assertNotEqual(updated.rev, first.rev)
        stale = self.api_error(
            self.dbx.files_upload, b"fourth", path, mode=dropbox.files.WriteMode.update(first.rev)
        )
        self.assertTrue(stale.get_path().reason.is_conflict())

        overwritten = self.upload(path, b"fifth", mode=dropbox.files.WriteMode.overwrite)
        self.assertEqual(overwritten.content_hash, dropbox_content_hash(b"fifth"))

        # The SDK fills in content_hash itself (auto_content_hash); a wrong one is refused.
        wrong = self.api_error(
            self.dbx.files_upload, b"sixth", "/Modes/wrong.txt", content_hash="0" * 64
        )
        self.assertTrue(wrong.is_content_hash_mismatch())

    def test_empty_file(self):
        path = "/Empty/nothing.txt"
        uploaded = self.upload(path, b"")
        self.assertEqual(uploaded.size, 0)
        self.assertEqual(uploaded.content_hash, dropbox_content_hash(b""))
        metadata, response = self.dbx.files_download(path)
        self.assertEqual(response.content, b"")
        self.assertEqual(metadata.content_hash, uploaded.content_hash)

        from dropbox.file_transfer import Bytes, Downloader

        target = Bytes()
        Downloader(self.dbx).download(path, target)
        self.assertEqual(target.bytes(), b"")

    def test_range_outside_the_file_is_416(self):
        # Documented emulator choice (mod.rs): 416 + "range/not_satisfiable/". The SDK's
        # transfer helper only falls back to a plain download on an ApiError whose error repr
        # says "range/not_satisfiable", which no DownloadError member can produce, so its
        # parallel mode fails on empty files whatever the server says (see README.md here).
        self.upload("/Ranges/empty.txt", b"")
        with self.assertRaises(dropbox.exceptions.HttpError) as caught:
            self.dbx.files_download("/Ranges/empty.txt", extra_headers={"Range": "bytes=0-0"})
        self.assertEqual(caught.exception.status_code, 416)
        self.assertIn("range/not_satisfiable", caught.exception.body)

    def test_hostile_names_round_trip(self):
        names = [
            'quote " and backslash \\ .txt',
            "tab\tand del\x7f.txt",
            "\u65e5\u672c\u8a9e \u00fc\u00df \U0001f4f7\U0001f3d4.jpg",
            "percent %41 plus + amp & hash #.txt",
        ]
        for name in names:
            path = "/Hostile/" + name
            data = name.encode("utf-8")
            uploaded = self.upload(path, data)
            self.assertEqual(uploaded.name, name)
            metadata, response = self.dbx.files_download(path)
            self.assertEqual(metadata.path_display, path)
            self.assertEqual(response.content, data)
        entries, _ = self.entries_from(self.dbx.files_list_folder("/Hostile"))
        self.assertEqual(sorted(entry.name for entry in entries), sorted(names))

    def test_list_folder_with_deleted_entries(self):
        self.upload("/WithDeleted/kept.txt", b"k")
        self.upload("/WithDeleted/gone.txt", b"g")
        self.dbx.files_delete_v2("/WithDeleted/gone.txt")
        result = self.dbx.files_list_folder("/WithDeleted", include_deleted=True)
        kinds = {entry.name: type(entry).__name__ for entry in result.entries}
        self.assertEqual(kinds, {"kept.txt": "FileMetadata", "gone.txt": "DeletedMetadata"})
        result = self.dbx.files_list_folder("/WithDeleted")
        self.assertEqual([entry.name for entry in result.entries], ["kept.txt"])
        error = self.api_error(self.dbx.files_list_folder, "/WithDeleted/kept.txt")
        self.assertTrue(error.get_path().is_not_folder())

    def test_download_to_file(self):
        data = pattern(100000, "to-file")
        uploaded = self.upload("/ToFile/data.bin", data)
        with tempfile.TemporaryDirectory() as scratch:
            local = os.path.join(scratch, "data.bin")
            metadata = self.dbx.files_download_to_file(local, "/tofile/DATA.bin")
            with open(local, "rb") as written:
                self.assertEqual(written.read(), data)
        self.assertEqual(metadata.rev, uploaded.rev)

    def test_download_of_a_missing_file_is_a_typed_error(self):
        error = self.api_error(self.dbx.files_download, "/no/such/file.jpg")
        self.assertIsInstance(error, dropbox.files.DownloadError)
        self.assertTrue(error.is_path())
        self.assertTrue(error.get_path().is_not_found())
        self.upload("/NotAFile/inside.txt", b"x")
        error = self.api_error(self.dbx.files_download, "/NotAFile")
        self.assertTrue(error.get_path().is_not_file())

    # ----- metadata ----------------------------------------------------------------------------

    def test_get_metadata_of_missing_existing_and_deleted_paths(self):
        error = self.api_error(self.dbx.files_get_metadata, "/does/not/exist.png")
        self.assertIsInstance(error, dropbox.files.GetMetadataError)
        self.assertTrue(error.is_path())
        self.assertTrue(error.get_path().is_not_found())

        uploaded = self.upload("/Meta/Photo.JPG", b"\xff\xd8\xff\xe0 jpeg-ish")
        by_path = self.dbx.files_get_metadata("/meta/photo.jpg")
        self.assertIsInstance(by_path, dropbox.files.FileMetadata)
        self.assertEqual(by_path.rev, uploaded.rev)
        self.assertEqual(by_path.path_display, "/Meta/Photo.JPG")
        by_id = self.dbx.files_get_metadata(uploaded.id)
        self.assertEqual(by_id.path_lower, "/meta/photo.jpg")

        self.dbx.files_delete_v2("/Meta/Photo.JPG")
        gone = self.dbx.files_get_metadata("/Meta/Photo.JPG", include_deleted=True)
        self.assertIsInstance(gone, dropbox.files.DeletedMetadata)
        self.assertEqual(gone.name, "Photo.JPG")
        error = self.api_error(self.dbx.files_get_metadata, "/Meta/Photo.JPG")
        self.assertTrue(error.get_path().is_not_found())

    # ----- listing, cursors, longpoll ----------------------------------------------------------

    def entries_from(self, result):
        entries = list(result.entries)
        while result.has_more:
            result = self.dbx.files_list_folder_continue(result.cursor)
            self.assertIsInstance(result, dropbox.files.ListFolderResult)
            entries += result.entries
        return entries, result.cursor

    def test_list_folder_continue_and_longpoll(self):
        self.dbx.files_create_folder_v2("/Listing")
        first = self.upload("/Listing/a.txt", b"a")
        self.upload("/Listing/Sub/b \u00e9.txt", b"b")

        result = self.dbx.files_list_folder("/Listing", recursive=True)
        self.assertIsInstance(result, dropbox.files.ListFolderResult)
        entries, cursor = self.entries_from(result)
        kinds = sorted((type(entry).__name__, entry.path_lower) for entry in entries)
        self.assertEqual(
            kinds,
            [
                ("FileMetadata", "/listing/a.txt"),
                ("FileMetadata", "/listing/sub/b \u00e9.txt"),
                ("FolderMetadata", "/listing"),
                ("FolderMetadata", "/listing/sub"),
            ],
        )
        file_a = next(entry for entry in entries if entry.path_lower == "/listing/a.txt")
        self.assertEqual(file_a.rev, first.rev)
        self.assertEqual(file_a.content_hash, dropbox_content_hash(b"a"))

        # Paging with a small limit gives the same entries.
        paged, _ = self.entries_from(
            self.dbx.files_list_folder("/Listing", recursive=True, limit=1)
        )
        self.assertEqual(
            sorted(entry.path_lower for entry in paged),
            sorted(entry.path_lower for entry in entries),
        )

        # No change: the longpoll times out (30 s scaled to 30 ms).
        started = time.monotonic()
        waited = self.dbx.files_list_folder_longpoll(cursor, timeout=30)
        self.assertIsInstance(waited, dropbox.files.ListFolderLongpollResult)
        self.assertFalse(waited.changes)
        self.assertEqual(waited.backoff, 2)
        self.assertLess(time.monotonic() - started, 10)

        # A change while a longpoll waits wakes it up. 480 s scale to 0.48 s, which a busy
        # machine may spend on the upload itself: poll again (same cursor) until it shows.
        writer = threading.Timer(0.1, lambda: client().files_upload(b"c", "/Listing/c.txt"))
        writer.start()
        try:
            for _ in range(100):
                woke = self.dbx.files_list_folder_longpoll(cursor, timeout=480)
                if woke.changes:
                    break
        finally:
            writer.join()
        self.assertTrue(woke.changes)

        changes, cursor = self.entries_from(self.dbx.files_list_folder_continue(cursor))
        self.assertEqual([entry.path_lower for entry in changes], ["/listing/c.txt"])
        self.assertIsInstance(changes[0], dropbox.files.FileMetadata)

        self.dbx.files_delete_v2("/Listing/a.txt", parent_rev=first.rev)
        changes, cursor = self.entries_from(self.dbx.files_list_folder_continue(cursor))
        self.assertEqual(len(changes), 1)
        self.assertIsInstance(changes[0], dropbox.files.DeletedMetadata)
        self.assertEqual(changes[0].path_lower, "/listing/a.txt")

        latest = self.dbx.files_list_folder_get_latest_cursor("/Listing", recursive=True)
        nothing = self.dbx.files_list_folder_continue(latest.cursor)
        self.assertEqual(nothing.entries, [])
        self.assertFalse(nothing.has_more)

    def test_list_folder_errors_are_typed(self):
        error = self.api_error(self.dbx.files_list_folder, "/nowhere")
        self.assertIsInstance(error, dropbox.files.ListFolderError)
        self.assertTrue(error.get_path().is_not_found())
        error = self.api_error(self.dbx.files_list_folder_continue, "not-a-cursor")
        self.assertIsInstance(error, dropbox.files.ListFolderContinueError)
        self.assertTrue(error.is_reset())
        error = self.api_error(self.dbx.files_list_folder_longpoll, "not-a-cursor")
        self.assertIsInstance(error, dropbox.files.ListFolderLongpollError)
        self.assertTrue(error.is_reset())

        # The listed folder itself went away: continue says path/not_found.
        self.dbx.files_create_folder_v2("/Vanishing")
        cursor = self.dbx.files_list_folder("/Vanishing").cursor
        self.dbx.files_delete_v2("/Vanishing")
        error = self.api_error(self.dbx.files_list_folder_continue, cursor)
        self.assertTrue(error.is_path())
        self.assertTrue(error.get_path().is_not_found())

    def test_root_listing_is_the_empty_path(self):
        self.upload("/root-file.txt", b"r")
        entries, _ = self.entries_from(self.dbx.files_list_folder(""))
        self.assertIn("/root-file.txt", [entry.path_lower for entry in entries])

    # ----- deletes -----------------------------------------------------------------------------

    def test_delete_v2_with_matching_and_stale_parent_rev(self):
        path = "/Deletes/photo.jpg"
        old = self.upload(path, b"old bytes")
        current = self.upload(path, b"new bytes", mode=dropbox.files.WriteMode.overwrite)
        self.assertNotEqual(old.rev, current.rev)

        error = self.api_error(self.dbx.files_delete_v2, path, parent_rev=old.rev)
        self.assertIsInstance(error, dropbox.files.DeleteError)
        self.assertTrue(error.is_path_write(), error)
        self.assertTrue(error.get_path_write().is_conflict())
        self.assertTrue(error.get_path_write().get_conflict().is_file())
        self.assertEqual(self.dbx.files_get_metadata(path).rev, current.rev)

        deleted = self.dbx.files_delete_v2(path, parent_rev=current.rev)
        self.assertIsInstance(deleted, dropbox.files.DeleteResult)
        self.assertIsInstance(deleted.metadata, dropbox.files.FileMetadata)
        self.assertEqual(deleted.metadata.rev, current.rev)
        self.assertEqual(deleted.metadata.path_lower, path.lower())

        error = self.api_error(self.dbx.files_delete_v2, path)
        self.assertTrue(error.is_path_lookup())
        self.assertTrue(error.get_path_lookup().is_not_found())

        self.upload("/Deletes/Folder/inner.txt", b"i")
        folder = self.dbx.files_delete_v2("/Deletes/Folder")
        self.assertIsInstance(folder.metadata, dropbox.files.FolderMetadata)

    def test_delete_batch_and_check_until_complete(self):
        kept = self.upload("/Batch/kept.txt", b"kept v1")
        newer = self.upload("/Batch/kept.txt", b"kept v2", mode=dropbox.files.WriteMode.overwrite)
        doomed = self.upload("/Batch/doomed.txt", b"doomed")
        DeleteArg = dropbox.files.DeleteArg
        launch = self.dbx.files_delete_batch(
            [
                DeleteArg("/Batch/doomed.txt", parent_rev=doomed.rev),
                DeleteArg("/Batch/kept.txt", parent_rev=kept.rev),
                DeleteArg("/Batch/never-there.txt"),
            ]
        )
        self.assertIsInstance(launch, dropbox.files.DeleteBatchLaunch)
        if launch.is_complete():
            status_entries = launch.get_complete().entries
            polls = 0
        else:
            self.assertTrue(launch.is_async_job_id())
            job = launch.get_async_job_id()
            polls = 0
            while True:
                status = self.dbx.files_delete_batch_check(job)
                self.assertIsInstance(status, dropbox.files.DeleteBatchJobStatus)
                polls += 1
                if status.is_complete():
                    break
                self.assertTrue(status.is_in_progress(), status)
                self.assertLess(polls, 50)
                time.sleep(0.05)
            status_entries = status.get_complete().entries
        # The emulator answers in_progress once by default, so the loop was exercised.
        self.assertEqual(polls, 2)
        self.assertEqual(len(status_entries), 3)
        success, stale, missing = status_entries
        self.assertTrue(success.is_success())
        self.assertIsInstance(success.get_success().metadata, dropbox.files.FileMetadata)
        self.assertEqual(success.get_success().metadata.rev, doomed.rev)
        self.assertTrue(stale.is_failure())
        self.assertIsInstance(stale.get_failure(), dropbox.files.DeleteError)
        self.assertTrue(stale.get_failure().is_path_write())
        self.assertTrue(missing.is_failure())
        self.assertTrue(missing.get_failure().get_path_lookup().is_not_found())
        self.assertEqual(self.dbx.files_get_metadata("/Batch/kept.txt").rev, newer.rev)

        error = self.api_error(self.dbx.files_delete_batch_check, "dbjid:no-such-job")
        self.assertIsInstance(error, dropbox.async_.PollError)
        self.assertTrue(error.is_invalid_async_job_id())

    # ----- tokens ------------------------------------------------------------------------------

    def test_refresh_token_flow_proactive_and_after_expiry(self):
        dbx = client(oauth2_access_token=None, oauth2_refresh_token=REFRESH_TOKEN, app_key=APP_KEY)
        account = dbx.users_get_current_account()
        self.assertEqual(account.account_id, REFRESH_ACCOUNT)
        first_token = dbx._oauth2_access_token
        self.assertTrue(first_token)
        self.assertIsNotNone(dbx._oauth2_access_token_expiration)

        # The SDK still believes the token is good for hours; the emulator expires it, the
        # SDK gets 401 expired_access_token, refreshes once and retries.
        emulator.admin("expire_tokens", {"account_id": REFRESH_ACCOUNT})
        listing = dbx.files_list_folder("")
        self.assertIsInstance(listing, dropbox.files.ListFolderResult)
        self.assertNotEqual(dbx._oauth2_access_token, first_token)

        expired = client(oauth2_access_token=first_token)
        with self.assertRaises(dropbox.exceptions.AuthError) as caught:
            expired.users_get_current_account()
        self.assertTrue(caught.exception.error.is_expired_access_token())

        # A refresh token the server does not know: invalid_grant, which the SDK maps to
        # invalid_access_token.
        revoked = client(
            oauth2_access_token=None, oauth2_refresh_token="revoked", app_key=APP_KEY
        )
        with self.assertRaises(dropbox.exceptions.AuthError) as caught:
            revoked.users_get_current_account()
        self.assertTrue(caught.exception.error.is_invalid_access_token())

    def test_pkce_code_flow_without_redirect(self):
        flow = dropbox.DropboxOAuth2FlowNoRedirect(
            APP_KEY, use_pkce=True, token_access_type="offline", ca_certs=emulator.ca_path
        )
        authorize_url = flow.start()
        self.assertIn("code_challenge_method=S256", authorize_url)
        self.assertIn("token_access_type=offline", authorize_url)
        challenge = (
            __import__("base64")
            .urlsafe_b64encode(hashlib.sha256(flow.code_verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        self.assertIn("code_challenge=" + challenge, authorize_url)
        # What the person would paste from the browser page.
        emulator.admin(
            "codes",
            {"code": "pasted-code", "account_id": REFRESH_ACCOUNT, "code_challenge": challenge},
        )
        result = flow.finish("pasted-code")
        self.assertEqual(result.account_id, REFRESH_ACCOUNT)
        self.assertTrue(result.access_token)
        self.assertTrue(result.refresh_token)
        self.assertTrue(result.user_id)
        self.assertGreater(result.expires_at, datetime.datetime.utcnow())

        dbx = client(
            oauth2_access_token=result.access_token,
            oauth2_refresh_token=result.refresh_token,
            oauth2_access_token_expiration=result.expires_at,
            app_key=APP_KEY,
        )
        self.assertEqual(dbx.users_get_current_account().account_id, REFRESH_ACCOUNT)

        # A code works once.
        with self.assertRaises(requests.HTTPError) as caught:
            flow.finish("pasted-code")
        self.assertEqual(caught.exception.response.status_code, 400)
        self.assertEqual(caught.exception.response.json()["error"], "invalid_grant")

    # ----- upload sessions (export) ---------------------------------------------------------

    def test_upload_session_start_append_finish_with_offsets(self):
        files = dropbox.files
        data = pattern(3 * BLOCK + 777, "session")
        first, second, last = data[:BLOCK], data[BLOCK : 3 * BLOCK], data[3 * BLOCK :]
        started = self.dbx.files_upload_session_start(
            first, content_hash=dropbox_content_hash(first)
        )
        self.assertIsInstance(started, files.UploadSessionStartResult)
        cursor = files.UploadSessionCursor(started.session_id, len(first))

        # A cursor that does not match the bytes held: typed, with the offset to resume from.
        error = self.api_error(
            self.dbx.files_upload_session_append_v2,
            second,
            files.UploadSessionCursor(started.session_id, 1),
        )
        self.assertIsInstance(error, files.UploadSessionAppendError)
        self.assertTrue(error.is_incorrect_offset())
        self.assertEqual(error.get_incorrect_offset().correct_offset, len(first))
        # A wrong hash of this call's bytes appends nothing.
        error = self.api_error(
            self.dbx.files_upload_session_append_v2, second, cursor, content_hash="0" * 64
        )
        self.assertTrue(error.is_content_hash_mismatch())

        self.assertIsNone(
            self.dbx.files_upload_session_append_v2(
                second, cursor, content_hash=dropbox_content_hash(second)
            )
        )
        cursor = files.UploadSessionCursor(started.session_id, len(first) + len(second))
        commit = files.CommitInfo("/Sessions/big.bin", mode=files.WriteMode.add, autorename=True)
        finished = self.dbx.files_upload_session_finish(last, cursor, commit)
        self.assertIsInstance(finished, files.FileMetadata)
        self.assertEqual(finished.size, len(data))
        self.assertEqual(finished.content_hash, dropbox_content_hash(data))
        _, response = self.dbx.files_download("/Sessions/big.bin")
        self.assertEqual(response.content, data)

        # A finished session is gone.
        error = self.api_error(
            self.dbx.files_upload_session_append_v2,
            b"more",
            files.UploadSessionCursor(started.session_id, len(data)),
        )
        self.assertTrue(error.is_not_found())

        # Other bytes to the same path with mode add + autorename: renamed, never overwritten.
        again = self.dbx.files_upload_session_start(b"other bytes", close=True)
        renamed = self.dbx.files_upload_session_finish(
            b"", files.UploadSessionCursor(again.session_id, 11), commit
        )
        self.assertEqual(renamed.path_display, "/Sessions/big (1).bin")
        self.assertEqual(renamed.size, 11)

    def test_upload_session_closed_and_finish_errors_are_typed(self):
        files = dropbox.files
        closed = self.dbx.files_upload_session_start(b"abc", close=True)
        cursor = files.UploadSessionCursor(closed.session_id, 3)
        error = self.api_error(self.dbx.files_upload_session_append_v2, b"d", cursor)
        self.assertTrue(error.is_closed())
        error = self.api_error(
            self.dbx.files_upload_session_finish,
            b"",
            files.UploadSessionCursor("no-such-session", 0),
            files.CommitInfo("/Sessions/missing.bin"),
        )
        self.assertIsInstance(error, files.UploadSessionFinishError)
        self.assertTrue(error.is_lookup_failed())
        self.assertTrue(error.get_lookup_failed().is_not_found())
        self.upload("/Sessions/folder-clash/inner.txt", b"x")
        error = self.api_error(
            self.dbx.files_upload_session_finish,
            b"",
            cursor,
            files.CommitInfo("/Sessions/folder-clash"),
        )
        self.assertTrue(error.is_path())
        self.assertTrue(error.get_path().is_conflict())
        self.assertTrue(error.get_path().get_conflict().is_folder())

    def test_upload_session_finish_batch_v2(self):
        files = dropbox.files
        entries = []
        contents = [b"one", b"two two", b""]
        for index, content in enumerate(contents):
            started = self.dbx.files_upload_session_start(content, close=True)
            entries.append(
                files.UploadSessionFinishArg(
                    files.UploadSessionCursor(started.session_id, len(content)),
                    files.CommitInfo("/Batch/file {}.txt".format(index), autorename=True),
                )
            )
        still_open = self.dbx.files_upload_session_start(b"open")
        entries.append(
            files.UploadSessionFinishArg(
                files.UploadSessionCursor(still_open.session_id, 4),
                files.CommitInfo("/Batch/open.txt"),
            )
        )
        result = self.dbx.files_upload_session_finish_batch_v2(entries)
        self.assertIsInstance(result, files.UploadSessionFinishBatchResult)
        self.assertEqual(len(result.entries), 4)
        for index, content in enumerate(contents):
            entry = result.entries[index]
            self.assertTrue(entry.is_success(), entry)
            metadata = entry.get_success()
            self.assertEqual(metadata.path_display, "/Batch/file {}.txt".format(index))
            self.assertEqual(metadata.content_hash, dropbox_content_hash(content))
        failure = result.entries[3]
        self.assertTrue(failure.is_failure())
        self.assertTrue(failure.get_failure().get_lookup_failed().is_not_closed())

    # ----- shared links ------------------------------------------------------------------------

    def test_shared_link_created_once_then_reused(self):
        sharing = dropbox.sharing
        uploaded = self.upload("/Shared/photo one.jpg", b"jpeg bytes")
        link = self.dbx.sharing_create_shared_link_with_settings("/Shared/photo one.jpg")
        self.assertIsInstance(link, sharing.FileLinkMetadata)
        self.assertEqual(link.name, "photo one.jpg")
        self.assertEqual(link.path_lower, "/shared/photo one.jpg")
        self.assertEqual(link.id, uploaded.id)
        self.assertEqual(link.rev, uploaded.rev)
        self.assertEqual(link.size, len(b"jpeg bytes"))
        self.assertTrue(link.url.startswith("https://"), link.url)
        self.assertTrue(link.link_permissions.resolved_visibility.is_public())

        error = self.api_error(
            self.dbx.sharing_create_shared_link_with_settings, "/shared/PHOTO one.jpg"
        )
        self.assertIsInstance(error, sharing.CreateSharedLinkWithSettingsError)
        self.assertTrue(error.is_shared_link_already_exists())
        existing = error.get_shared_link_already_exists()
        self.assertTrue(existing.is_metadata())
        self.assertEqual(existing.get_metadata().url, link.url)

        listed = self.dbx.sharing_list_shared_links(path="/Shared/photo one.jpg", direct_only=True)
        self.assertIsInstance(listed, sharing.ListSharedLinksResult)
        self.assertEqual([found.url for found in listed.links], [link.url])
        self.assertFalse(listed.has_more)

        folder = self.dbx.sharing_create_shared_link_with_settings("/Shared")
        self.assertIsInstance(folder, sharing.FolderLinkMetadata)
        self.assertEqual(folder.path_lower, "/shared")
        # Without direct_only, links to the folders above count too.
        around = self.dbx.sharing_list_shared_links(path="/Shared/photo one.jpg")
        self.assertEqual(sorted(found.url for found in around.links), sorted([link.url, folder.url]))
        direct = self.dbx.sharing_list_shared_links(path="/Shared/photo one.jpg", direct_only=True)
        self.assertEqual([found.url for found in direct.links], [link.url])

        error = self.api_error(self.dbx.sharing_create_shared_link_with_settings, "/Shared/none.jpg")
        self.assertTrue(error.is_path())
        self.assertTrue(error.get_path().is_not_found())

    # ----- faults ------------------------------------------------------------------------------

    def with_faults(self, faults, work):
        emulator.admin("faults", faults)
        try:
            return work()
        finally:
            emulator.admin("faults", {})

    def test_rate_limits_are_typed_and_retried(self):
        def json_429():
            with self.assertRaises(dropbox.exceptions.RateLimitError) as caught:
                self.dbx.users_get_current_account()
            return caught.exception

        error = self.with_faults(
            {"rate_limit_every": 1, "rate_limit_retry_after_secs": 7}, json_429
        )
        self.assertTrue(error.error.reason.is_too_many_requests())
        self.assertEqual(error.backoff, 7)

        error = self.with_faults(
            {"rate_limit_every": 1, "rate_limit_retry_after_secs": 3, "rate_limit_plain_text": True},
            json_429,
        )
        self.assertIsNone(error.error)
        self.assertEqual(error.backoff, 3)

        # Every second call is limited with Retry-After 1: the SDK waits and retries.
        patient = client(max_retries_on_rate_limit=2)
        started = time.monotonic()
        accounts = self.with_faults(
            {"rate_limit_every": 2, "rate_limit_retry_after_secs": 1},
            lambda: [patient.users_get_current_account() for _ in range(2)],
        )
        self.assertEqual([a.account_id for a in accounts], [ACCOUNT, ACCOUNT])
        self.assertGreaterEqual(time.monotonic() - started, 1)

    def test_write_contention_and_server_errors(self):
        error = self.with_faults(
            {"write_contention_every": 1},
            lambda: self.api_error(self.dbx.files_upload, b"x", "/Contention/x.txt"),
        )
        self.assertTrue(error.get_path().reason.is_too_many_write_operations())

        def server_error():
            with self.assertRaises(dropbox.exceptions.InternalServerError) as caught:
                self.dbx.users_get_current_account()
            return caught.exception

        error = self.with_faults({"server_error_every": 1, "server_error_status": 503}, server_error)
        self.assertEqual(error.status_code, 503)

        patient = client(max_retries_on_error=3)
        account = self.with_faults(
            {"server_error_every": 2}, lambda: [patient.users_get_current_account() for _ in range(2)]
        )
        self.assertEqual(len(account), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
