"""Measure the scale corpus (`scale.py`): contract build, generator time (the Rust
`generate_typescript` call alone, best of 5), and `tsc --strict` on the output."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from auroraview import _core  # noqa: E402
from auroraview.contract import build_contract  # noqa: E402


def main() -> None:
    t0 = time.perf_counter()
    import scale  # type: ignore[import-not-found]

    t1 = time.perf_counter()
    contract = build_contract(scale.commands)
    t2 = time.perf_counter()
    text = json.dumps(contract)
    best = min(_timed(lambda: _core.generate_typescript(text, "scale:commands")) for _ in range(5))
    ts = _core.generate_typescript(text, "scale:commands")
    print(f"commands={len(scale.commands)} models={len(scale.MODELS)} defs={len(contract['$defs'])}")
    print(f"import+register {t1 - t0:.2f}s, build_contract {t2 - t1:.2f}s, generator {best * 1000:.0f}ms (best of 5)")
    print(f"output {len(ts) / 1e6:.2f} MB, {ts.count(chr(10))} lines")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "scale.gen.ts").write_text(ts)
        sdk = HERE.parents[1] / "sdk-ts"
        config = {
            "compilerOptions": {
                "target": "ES2020",
                "module": "ES2020",
                "moduleResolution": "bundler",
                "strict": True,
                "noEmit": True,
                "lib": ["ES2020", "DOM"],
                "paths": {"@auroraview/sdk": [str(sdk / "src" / "index.ts")]},
            },
            "files": ["scale.gen.ts"],
        }
        (out / "tsconfig.json").write_text(json.dumps(config))
        t3 = time.perf_counter()
        proc = subprocess.run([str(sdk / "node_modules" / ".bin" / "tsc"), "-p", str(out)], capture_output=True, text=True)
        t4 = time.perf_counter()
        print(f"tsc --strict --noEmit {t4 - t3:.1f}s, exit {proc.returncode}")
        if proc.returncode:
            print(proc.stdout[:2000])
            raise SystemExit(1)


def _timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
