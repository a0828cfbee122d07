"""The inference web app (`mloop app`): a page and a JSON API in front of a model endpoint,
logging every prediction and the feedback that follows to feature groups (seed 002)."""

from mloop.web.inference.app import create_inference_app

__all__ = ["create_inference_app"]
