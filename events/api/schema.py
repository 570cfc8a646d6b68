"""The OpenAPI document's shape beyond what drf-spectacular infers: every operation lists
the problem details it may answer with (RFC 9457, `application/problem+json`)."""

from drf_spectacular.openapi import AutoSchema

from .errors import PROBLEM, ProblemSerializer

# Any operation may answer these; writes may also be refused by a service (422).
COMMON = ("400", "401", "403", "404", "405", "406", "429")
WRITES = ("415", "422")
# A POST's Idempotency-Key already in use by a request under way.
POSTS = ("409",)


class ApiSchema(AutoSchema):
    def get_operation_id(self) -> str:
        # The view function's name and the method: stable, and unique by construction.
        return f"{type(self.view).__name__}_{self.method.lower()}"

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = COMMON + (WRITES if self.method in ("POST", "PUT", "PATCH") else ())
        codes += POSTS if self.method == "POST" else ()
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ProblemSerializer, code, (PROBLEM,), direction
                )
        return responses
