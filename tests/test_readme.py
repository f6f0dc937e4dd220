"""Every Python block of the README runs as written."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_blocks_run():
  with open(os.path.join(ROOT, "README.md")) as f:
    blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
  assert blocks
  for block in blocks:
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
  audio, convergence = namespace["audio"], namespace["convergence"]
  assert audio.ndim == 1 and audio.size > 0 and 0 <= convergence < 1
