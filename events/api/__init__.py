"""The REST API (/api/v1/): a team's tokens, scopes, problem details, resources.

Views here are thin, as the pages' are: they read a request through a serializer, call the
same service the page calls (with the token's maker as the actor), and render the result."""
