"""Every Python and TypeScript snippet in docs/ runs or compiles, so the docs cannot rot.

How a page's code blocks are tested (the conventions are also stated in docs/index.md):

- Every fence has a language. ```python blocks of a page run in order, as one script in a
  fresh interpreter (a page reads top to bottom: later blocks use what earlier ones
  defined). A page holding ``<!-- docs-test: display -->`` runs under a private Xvfb
  display (its snippets open real windows).
- Every ```ts block is compiled as a module of its own with ``tsc --strict`` against the
  SDK's sources (``@auroraview/sdk``, ``@auroraview/sdk/react``), with ``ws``'s types and the
  outliner example's generated bindings (``./outliner.gen.js``) importable; a ```tsx block
  the same way, as a `.tsx` module (JSX for React, with React's types).
- A block that must not run is preceded by ``<!-- docs-test: skip: REASON -->``: the reason
  is required and the skips are few (asserted below).
- Code between ``<!-- docs-test: hidden`` and ``-->`` runs (or, for TypeScript, is put
  before each later block of the page) but is not shown: set-up and tear-down.

The README's example has its own test (test_readme.py). The generated TypeScript
reference (docs/reference/typescript/) is not scanned.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from auroraview._xvfb import VirtualDisplay

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GENERATED = DOCS / "reference" / "typescript"
TSC = ROOT / "sdk-ts" / "node_modules" / ".bin" / "tsc"
BINDINGS = ROOT / "examples" / "outliner" / "ui" / "src" / "outliner.gen.ts"

LANGS = {"python": "python", "ts": "ts", "tsx": "tsx", "bash": "bash", "text": "text", "json": "json", "toml": "toml"}
MAX_SKIPPED = 4

FENCE = re.compile(r"^(\s*)(```+)(.*)$")
SKIP = re.compile(r"^\s*<!-- docs-test: skip: (.+?) -->\s*$")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    hidden: bool
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if GENERATED not in p.parents)


def blocks(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    found: list[Block] = []
    hidden = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "<!-- docs-test: hidden":
            hidden = True
        elif hidden and line.strip() == "-->":
            hidden = False
        m = FENCE.match(line)
        if m:
            indent, ticks, info = m.groups()
            lang = info.strip().split(" ")[0] if info.strip() else ""
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(ticks):
                body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i].lstrip())
                i += 1
            prev = lines[start - 1] if start > 0 else ""
            skip = SKIP.match(prev)
            found.append(Block(page, start + 1, lang, "\n".join(body) + "\n", hidden, skip.group(1) if skip else None))
        i += 1
    assert not hidden, f"{page}: a `<!-- docs-test: hidden` is never closed by `-->`"
    return found


ALL = [b for p in pages() for b in blocks(p)]
PY_PAGES = sorted({b.page for b in ALL if b.lang == "python" and b.skip is None}, key=str)


def test_every_fence_names_a_known_language() -> None:
    bad = [f"{b.where}: {b.lang or '(none)'}" for b in ALL if b.lang not in LANGS]
    assert not bad, f"fences need one of {sorted(LANGS)} (python and ts are tested): {bad}"


def test_skipped_snippets_are_few_and_say_why() -> None:
    skipped = [b for b in ALL if b.skip is not None]
    for b in skipped:
        assert b.lang in ("python", "ts", "tsx"), f"{b.where}: only python, ts and tsx blocks are tested; nothing to skip"
        assert len(b.skip or "") >= 15, f"{b.where}: a skip needs a reason"
    assert len(skipped) <= MAX_SKIPPED, [f"{b.where}: {b.skip}" for b in skipped]
    # The snippets are there to be tested: the counts only grow.
    assert sum(b.lang == "python" and b.skip is None for b in ALL) >= 20
    assert sum(b.lang == "ts" and b.skip is None for b in ALL) >= 8


@pytest.mark.timeout(180)
@pytest.mark.parametrize("page", PY_PAGES, ids=[str(p.relative_to(DOCS)) for p in PY_PAGES])
def test_python_snippets_run(page: Path, tmp_path: Path) -> None:
    parts = [
        f"# --- {b.where}{' (hidden)' if b.hidden else ''}\n{b.code}"
        for b in blocks(page)
        if b.lang == "python" and b.skip is None
    ]
    script = tmp_path / f"{page.stem}_snippets.py"
    script.write_text("\n".join(parts))
    needs_display = "<!-- docs-test: display -->" in page.read_text()
    if needs_display and not VirtualDisplay.available():
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing: the docs' window snippets must run in CI")
        pytest.skip("Xvfb is not installed")

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=150, cwd=tmp_path
        )

    if needs_display:
        with VirtualDisplay():
            proc = run()
    else:
        proc = run()
    assert proc.returncode == 0, f"{page.relative_to(ROOT)}'s snippets ({script}):\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.timeout(180)
def test_typescript_snippets_compile(tmp_path: Path) -> None:
    if not TSC.exists():
        if os.environ.get("CI"):
            pytest.fail("sdk-ts/node_modules is missing (scripts/setup.sh installs it)")
        pytest.skip("npm dependencies of sdk-ts are not installed")
    files: list[str] = []
    for page in pages():
        prelude: list[str] = []
        for b in blocks(page):
            if b.lang not in ("ts", "tsx") or b.skip is not None:
                continue
            if b.hidden:
                prelude.append(b.code)
                continue
            name = f"{page.stem}_{b.line}.{b.lang}"
            (tmp_path / name).write_text(f"// {b.where}\n" + "".join(prelude) + b.code + "\nexport {};\n")
            files.append(name)
    shutil.copy(BINDINGS, tmp_path / "outliner.gen.ts")
    sdk = ROOT / "sdk-ts"
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "ES2022",
            "module": "ESNext",
            "moduleResolution": "bundler",
            "lib": ["ES2022", "DOM"],
            "types": ["node"],
            "typeRoots": [str(sdk / "node_modules" / "@types")],
            "skipLibCheck": True,
            "jsx": "react-jsx",
            "paths": {
                "@auroraview/sdk": [str(sdk / "src" / "index.ts")],
                "@auroraview/sdk/react": [str(sdk / "src" / "react" / "index.ts")],
                "react": [str(sdk / "node_modules" / "@types" / "react" / "index.d.ts")],
                "react/jsx-runtime": [str(sdk / "node_modules" / "@types" / "react" / "jsx-runtime.d.ts")],
                "ws": [str(sdk / "node_modules" / "@types" / "ws" / "index.d.ts")],
            },
        },
        "files": [*files, "outliner.gen.ts"],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config, indent=2))
    proc = subprocess.run([str(TSC), "-p", str(tmp_path)], capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, f"TypeScript snippets in docs/ fail to compile ({tmp_path}):\n{proc.stdout}{proc.stderr}"
