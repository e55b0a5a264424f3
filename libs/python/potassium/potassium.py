"""`from potassium.potassium import Potassium, Request, Response`, as in potassium 0.0.9's layout."""
from kalium.app import Potassium  # noqa: F401
from kalium.messages import Request, Response  # noqa: F401
