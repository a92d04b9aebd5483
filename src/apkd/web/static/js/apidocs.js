// The API documentation page (/schema): Swagger UI from the package's own copy, started here
// rather than in an inline script so that the page keeps a strict Content-Security-Policy.
/* global SwaggerUIBundle */
const root = document.getElementById('swagger-ui');
window.ui = SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  validatorUrl: null,
});
