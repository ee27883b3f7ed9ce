"""nbgrader extractor plugin: an LMS download unpacked with limits, each upload its sender's.

An LMS's zip holds one entry per file a student handed in, named by the LMS after the student
(``doejane_12345_67890_<their file name>``). Its names are the LMS's word; what is *inside* a
file a student uploaded is the student's. So:

- an entry of the LMS's zip is extracted under its own name (it names its student);
- an archive a student uploaded (``.zip``, ``.tar``, ``.tar.gz``, ``.tgz``) is that student's
  submission only: its notebooks are extracted under the *outer* entry's name, whatever they are
  called inside (a name inside never names anyone), and take the outer entry's time;
- nothing is held whole in memory (every file is copied in chunks), no mode bit is kept, and
  every file is cut off at :data:`MAX_FILE_BYTES` (the size a submission may have,
  ``course.submissions.MAX_BYTES``), each upload at :data:`MAX_UPLOAD_FILES` members; archives
  inside an upload are not opened.

An entry that cannot be extracted (too large, a path leaving the zip, a name clashing with a
folder, an unreadable archive) is reported with the reason, under the entry's own name, and
extraction goes on with the rest.
"""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import cast

from nbgrader.plugins import ExtractorPlugin

from course.submissions import MAX_BYTES, MAX_FILES

MAX_FILE_BYTES = MAX_BYTES
MAX_UPLOAD_FILES = MAX_FILES
CHUNK = 1024**2
UPLOADED_ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")
MOODLE_FOLDER = "_assignsubmission_file"  # as course.lms.collect reads Moodle's folders


class TooLarge(Exception):
    """A file past :data:`MAX_FILE_BYTES` (or an upload past its member count)."""


def copy_bounded(source, target: Path, limit: int = MAX_FILE_BYTES) -> None:
    """Copy the open binary file ``source`` to a new file ``target`` in chunks; TooLarge (and
    nothing left at ``target``) past ``limit`` bytes."""
    written = 0
    try:
        with open(target, "xb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise TooLarge(f"larger than {limit // 1024**2} MB")
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def safe_member_path(name: str) -> PurePosixPath | None:
    """``name`` as a path that stays inside the folder it is joined to (relative, no ``..``, no
    empty or dot part, no backslash or NUL), else None: an archive member's, or a file name a
    grading worker returns (``course.grading.recorder.returned_names_problem``)."""
    path = PurePosixPath(name)
    if (
        path.is_absolute()
        or not path.parts
        or any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in path.parts)
    ):
        return None
    return path


def _notebook_for(inner_name: str, notebooks: list[str]) -> str | None:
    """Which of the lab's notebooks an upload's inner notebook is: the one named in its file
    name (the longest that is), or the only one the lab has; None when it is no notebook."""
    if not inner_name.endswith(".ipynb"):
        return None
    named = [n for n in notebooks if n in PurePosixPath(inner_name).stem]
    if named:
        return max(named, key=len)
    return notebooks[0] if len(notebooks) == 1 else None


class BoundedExtractor(ExtractorPlugin):
    """Extract the LMS's zips found in the archive folder (other files are copied), as the
    module describes. After :meth:`extract`: ``origins`` maps each extracted file to the name
    of the LMS's entry it came from (its time is that entry's), ``problems`` lists
    ``(entry, reason)`` for each entry not extracted."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.notebooks: list[str] = []  # the lab's notebooks, set by course.lms.collect
        # set by course.lms.collect: an upload's name as the LMS gave it -> (what the LMS put
        # before the student's file name, its resubmission suffix), or None when it names no one
        self.lms_prefix: Callable[[str], tuple[str, str] | None] = lambda name: None
        self.origins: dict[Path, str] = {}
        self.problems: list[tuple[str, str]] = []

    def extract(self, archive_path: str, extracted_path: str) -> None:
        for path in sorted(Path(archive_path).iterdir()):
            if not path.is_file():
                continue
            if zipfile.is_zipfile(path):
                self._extract_download(path, Path(extracted_path) / path.stem)
            else:
                self._place(path.name, Path(extracted_path) / path.name, path.open("rb"), "")

    def _extract_download(self, download: Path, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(download) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                member = safe_member_path(info.filename)
                if member is None:
                    self.problems.append(
                        (
                            info.filename,
                            "not extracted: its path in the zip "
                            "leaves the zip's folder (../ or /); take it out of "
                            "the zip by hand and collect it",
                        )
                    )
                    continue
                if info.filename.lower().endswith(UPLOADED_ARCHIVES):
                    # Moodle's "in folders" download names the student in the folder's name
                    in_folder = member.parent.name.endswith(MOODLE_FOLDER)
                    self._extract_upload(
                        archive,
                        info,
                        folder,
                        f"{member.parent.name}_{member.name}" if in_folder else member.name,
                    )
                elif info.file_size > MAX_FILE_BYTES:
                    self.problems.append((member.name, self._too_large()))
                else:
                    with archive.open(info) as source:
                        self._place(info.filename, folder / member, source, info.filename)

    def _place(self, entry: str, target: Path, source, origin: str) -> None:
        """Copy ``source`` to ``target``, or report why not under ``entry``."""
        with source:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                copy_bounded(source, target)
            except TooLarge:
                self.problems.append((PurePosixPath(entry).name, self._too_large()))
                return
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                self.problems.append(
                    (
                        PurePosixPath(entry).name,
                        "not extracted: another entry "
                        "of the zip has the same name, or a folder of that name",
                    )
                )
                return
            except (OSError, zipfile.BadZipFile, EOFError) as error:
                self.problems.append(
                    (
                        PurePosixPath(entry).name,
                        f"not extracted: unreadable ({type(error).__name__})",
                    )
                )
                return
        self.origins[target] = origin

    def _extract_upload(
        self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, folder: Path, entry: str
    ) -> None:
        """A student's uploaded archive: its notebooks, in ``folder`` under the name the LMS
        gave the upload (``entry``)."""
        named = self.lms_prefix(entry)
        if named is None:
            self.problems.append(
                (
                    entry,
                    "an archive whose name names no student (not an LMS "
                    "download's entry): unpack it and collect the notebook",
                )
            )
            return
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "upload"
            try:
                with archive.open(info) as source:
                    copy_bounded(source, copy)
                upload = UploadedArchive(copy)
            except TooLarge:
                self.problems.append((entry, self._too_large()))
                return
            except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
                self.problems.append(
                    (entry, f"not extracted: unreadable archive ({type(error).__name__})")
                )
                return
            with upload:
                self._place_notebooks(entry, upload, folder, named, info.filename)

    def _place_notebooks(
        self, entry: str, upload: UploadedArchive, folder: Path, named: tuple[str, str], origin: str
    ) -> None:
        """Each of the lab's notebooks found in ``upload``, named as the LMS would have named
        it: ``named`` is the entry's LMS prefix and resubmission suffix."""
        prefix, resubmission = named
        chosen: dict[str, list[str]] = {}
        for name in upload.names():
            if (notebook := _notebook_for(name, self.notebooks)) is not None:
                chosen.setdefault(notebook, []).append(name)
        if not chosen:
            self.problems.append(
                (
                    entry,
                    "holds none of the lab's notebooks ("
                    + ", ".join(f"{n}.ipynb" for n in self.notebooks)
                    + ")",
                )
            )
        for notebook, found in sorted(chosen.items()):
            if len(found) > 1:
                self.problems.append(
                    (
                        entry,
                        f"holds {len(found)} notebooks that could be "
                        f"{notebook}.ipynb; ask for that one alone",
                    )
                )
                continue
            try:
                source = upload.open(found[0])
            except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, KeyError) as error:
                self.problems.append(
                    (entry, f"not extracted: unreadable archive ({type(error).__name__})")
                )
                continue
            self._place(entry, folder / f"{prefix}{notebook}{resubmission}.ipynb", source, origin)

    @staticmethod
    def _too_large() -> str:
        return (
            f"not extracted: larger than {MAX_FILE_BYTES // 1024**2} MB (a notebook is far "
            "smaller); ask the student for the notebook itself"
        )


class UploadedArchive:
    """A zip or tar a student uploaded, open for reading: its regular files' names (at most
    :data:`MAX_UPLOAD_FILES`, each declared at most :data:`MAX_FILE_BYTES`: TooLarge past
    either) and a binary file for each."""

    def __init__(self, path: Path):
        members: dict[str, zipfile.ZipInfo] | dict[str, tarfile.TarInfo]
        if zipfile.is_zipfile(path):
            self._zip: zipfile.ZipFile | None = zipfile.ZipFile(path)
            self._tar: tarfile.TarFile | None = None
            members = {i.filename: i for i in self._zip.infolist() if not i.is_dir()}
            sizes = [i.file_size for i in members.values()]
        else:
            self._zip = None
            self._tar = tarfile.open(path)
            members = {m.name: m for m in self._tar.getmembers() if m.isreg()}
            sizes = [m.size for m in members.values()]
        self._members = members
        if len(members) > MAX_UPLOAD_FILES or any(size > MAX_FILE_BYTES for size in sizes):
            self.close()
            raise TooLarge("too many or too large files")

    def names(self) -> list[str]:
        return sorted(self._members)

    def open(self, name: str):
        if self._zip is not None:
            return self._zip.open(cast(zipfile.ZipInfo, self._members[name]))
        return cast(tarfile.TarFile, self._tar).extractfile(  # not a zip: a tar
            cast(tarfile.TarInfo, self._members[name])
        )

    def close(self) -> None:
        cast("zipfile.ZipFile | tarfile.TarFile", self._zip or self._tar).close()  # one is open

    def __enter__(self) -> UploadedArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
