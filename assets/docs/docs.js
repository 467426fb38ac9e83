// Renders /openapi.json with the bundled Swagger UI. Everything comes from
// this server: no validator badge (it would call validator.swagger.io).
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
};
