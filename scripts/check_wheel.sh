#!/usr/bin/env bash
# The Python package as a user gets it: build the wheel and the sdist from this tree, check
# what they hold (scripts/check_dist.sh: stripped extensions, nothing grafted, every file a
# build from the sdist needs), install the wheel into a brand-new venv outside the tree, and
# use it there: the README example through the test client, `auroraview --version`, `schema`
# and `codegen --check`, the pytest plugin, and a window under Xvfb. Prints the sizes. Needs
# scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== build: wheel and sdist"
bash scripts/build_wheel.sh "$work/dist" >/dev/null
wheel=$(ls "$work"/dist/auroraview-*.whl)
sdist=$(ls "$work"/dist/auroraview-*.tar.gz)
# No grafted libraries, both extensions stripped; the sdist holds what a build from it needs.
bash scripts/check_dist.sh "$wheel" "$sdist"
so_bytes=$(python3 - "$wheel" <<'PY'
import sys, zipfile
sizes = {i.filename: i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist() if i.filename.endswith(".so")}
assert any("/_headless/" in n for n in sizes) and len(sizes) == 2, sizes
print(", ".join(f"{n} {b} bytes" for n, b in sorted(sizes.items())))
PY
)
echo "wheel $(basename "$wheel") $(stat -c %s "$wheel") bytes ($so_bytes); sdist $(stat -c %s "$sdist") bytes"

echo "== install into a new venv outside the tree"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" "pytest>=8" "pytest-asyncio>=1.0"
py="$work/venv/bin/python"
mkdir -p "$work/app"
cd "$work/app"
"$py" -c "import auroraview, sys; assert '$root' not in auroraview.__file__, auroraview.__file__; print('imported from', auroraview.__file__)"
"$work/venv/bin/auroraview" --version

echo "== the README example through the test client"
"$py" - "$root/README.md" <<'PY'
import re, sys
blocks = re.findall(r"```python\n(.*?)```", open(sys.argv[1]).read(), flags=re.S)
registry = next(b for b in blocks if "commands = Commands()" in b)
test = next(b for b in blocks if "TestClient(commands)" in b)
exec(compile(registry + "\n" + test, "README.md", "exec"), {"__name__": "readme"})
print("README example: ok")
PY

echo "== schema and codegen --check"
cat > shop.py <<'PY'
from pydantic import BaseModel
from auroraview import Commands

commands = Commands()

class Item(BaseModel):
    name: str
    price: float

@commands.command()
async def add_item(item: Item) -> list[Item]:
    """Add an item to the basket."""
    return [item]
PY
"$work/venv/bin/auroraview" schema shop:commands >/dev/null
"$work/venv/bin/auroraview" codegen shop:commands --out ui/shop.gen.ts
"$work/venv/bin/auroraview" codegen shop:commands --out ui/shop.gen.ts --check

echo "== the pytest plugin"
cat > test_shop.py <<'PY'
import pytest
from auroraview.testing import TestClient
from shop import commands

pytest_plugins = ["auroraview.pytest_plugin"]

@pytest.fixture
def auroraview_app():
    return commands

async def test_add_item(auroraview_client: TestClient) -> None:
    assert await auroraview_client.call("add_item", {"item": {"name": "tea", "price": 2.5}}) == [{"name": "tea", "price": 2.5}]
PY
printf '[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n' > pytest.ini
"$py" -m pytest -q -p no:cacheprovider test_shop.py

echo "== without WebKitGTK and GTK: import, codegen --check, the test client"
# A private mount namespace where the display stack's libraries are empty files: the full
# extension cannot load there, and the package falls back to the one without the window.
full_so=$("$py" -c "import auroraview, pathlib; print(next(pathlib.Path(auroraview.__file__).parent.glob('_core*.so')))")
hide=""
for lib in $(ldd "$full_so" | awk '/libwebkit2gtk-4.1|libjavascriptcoregtk-4.1|libgtk-3|libgdk-3|libsoup-3.0/ {print $3}'); do
  hide="$hide mount --bind /dev/null $(readlink -f "$lib") &&"
done
unshare=""
for prefix in "unshare --mount" "unshare --map-root-user --mount"; do
  if $prefix true 2>/dev/null; then unshare=$prefix; break; fi
done
if [ -z "$unshare" ]; then
  if [ -n "${CI:-}" ]; then echo "check_wheel: CI must be able to run unshare --mount" >&2; exit 1; fi
  echo "(skipped: unshare --mount is not allowed here)"
else
  # shellcheck disable=SC2086
  env -u DISPLAY $unshare sh -c "$hide exec \"\$0\" \"\$@\"" "$py" - <<'PY'
import subprocess, sys
import auroraview
from auroraview import _core, _load
# The loader names the first hidden library in the extension's link order (the linker's choice).
hidden = ("libwebkit2gtk-4.1", "libjavascriptcoregtk-4.1", "libgtk-3", "libgdk-3", "libsoup-3.0")
why = _load.WINDOW_UNAVAILABLE or ""
assert not _core.WINDOW_SUPPORT and any(f"{lib}.so" in why for lib in hidden), why
for args in (["schema", "shop:commands"], ["codegen", "shop:commands", "--out", "ui/shop.gen.ts", "--check"]):
    out = subprocess.run([sys.executable, "-m", "auroraview", *args], capture_output=True, text=True)
    assert out.returncode == 0, (args, out.stderr)
out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_shop.py"], capture_output=True, text=True)
assert out.returncode == 0, out.stdout + out.stderr
print("without WebKitGTK: ok")
PY
fi

echo "== a window under Xvfb"
NO_AT_BRIDGE=1 DBUS_SESSION_BUS_ADDRESS=disabled: "$py" - <<'PY'
import asyncio
from auroraview import WebView
from auroraview._xvfb import VirtualDisplay

async def main() -> None:
    view = WebView("wheel", html="<p id=x>from the wheel</p>")
    run = asyncio.ensure_future(view.run_async())
    await view.wait_open()
    text = None
    for _ in range(200):
        try:
            text = await view.eval_js("document.getElementById('x') && document.getElementById('x').textContent", timeout=2)
        except Exception:
            text = None
        if text:
            break
        await asyncio.sleep(0.05)
    view.close()
    await asyncio.wait_for(run, 10)
    assert text == "from the wheel", text
    print("window: ok")

with VirtualDisplay():
    asyncio.run(main())
PY
echo "check_wheel: ok"
