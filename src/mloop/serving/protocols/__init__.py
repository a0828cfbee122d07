"""Wire formats: parse request bodies into raw records and render predictions.

Pure functions over bytes and Python values (no framework), so the server's hot path stays lean
and the formats can be tested on their own. Errors are `InvalidInput` (400) or
`UnsupportedMediaType` (415) with a message that says what was expected.
"""

from mloop.serving.protocols.common import loads_json
from mloop.serving.protocols.sagemaker import parse_invocation, render_invocation
from mloop.serving.protocols.v1 import parse_v1, render_v1
from mloop.serving.protocols.v2 import parse_v2, render_v2

__all__ = [
    "loads_json", "parse_invocation", "parse_v1", "parse_v2", "render_invocation", "render_v1",
    "render_v2",
]
