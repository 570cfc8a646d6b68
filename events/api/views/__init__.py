"""The API's endpoints by area. Each is a function view made by `http.api(methods, area)`;
reads narrow to the token's team (`permissions.of_team`), writes call the services."""
