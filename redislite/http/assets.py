"""Assets of the API docs page, shipped inside the package (no CDN, no internet).

They live in a module rather than data files so every install (wheel, sdist,
editable) carries them without packaging configuration.  The page embeds the
OpenAPI document and a small script renders it.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>RedisLite HTTP API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/v1/docs/assets/docs.css">
</head>
<body>
<header><h1>RedisLite HTTP API</h1><p id="subtitle"></p></header>
<main id="root"><noscript>The full document is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript></main>
<script id="openapi" type="application/json">%(spec)s</script>
<script src="/api/v1/docs/assets/docs.js"></script>
</body>
</html>
"""

CSS = """body { font-family: system-ui, sans-serif; margin: 0; color: #1d1f21; background: #fafafa; }
header { background: #a41e11; color: white; padding: 1em 2em; }
header h1 { margin: 0; font-size: 1.5em; }
main { padding: 1em 2em; max-width: 60em; }
.op { background: white; border: 1px solid #ddd; border-radius: 4px; margin: 0.6em 0; }
.op summary { cursor: pointer; padding: 0.5em; font-family: monospace; font-size: 1.05em; }
.op .body { padding: 0 1em 1em 1em; }
.method { display: inline-block; width: 4.5em; font-weight: bold; text-transform: uppercase; }
.get { color: #2b7a0b; } .put { color: #b36b00; } .post { color: #0b5cad; } .delete { color: #b00020; }
table { border-collapse: collapse; margin: 0.4em 0; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
pre { background: #f3f3f3; padding: 0.6em; overflow-x: auto; }
"""

JS = """(function () {
  'use strict';
  var spec = JSON.parse(document.getElementById('openapi').textContent);
  var root = document.getElementById('root');
  document.getElementById('subtitle').textContent =
    (spec.info.description || '') + ' (version ' + spec.info.version + ')';
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function resolve(schema) {
    if (schema && schema.$ref) {
      var name = schema.$ref.split('/').pop();
      return spec.components.schemas[name] || schema;
    }
    return schema;
  }
  function schemaBlock(schema) {
    return el('pre', null, JSON.stringify(resolve(schema), null, 2));
  }
  Object.keys(spec.paths).sort().forEach(function (path) {
    var item = spec.paths[path];
    Object.keys(item).forEach(function (method) {
      var op = item[method];
      var box = el('details', 'op');
      var sum = el('summary');
      sum.appendChild(el('span', 'method ' + method, method));
      sum.appendChild(document.createTextNode(path + ' - ' + (op.summary || '')));
      box.appendChild(sum);
      var body = el('div', 'body');
      if (op.parameters && op.parameters.length) {
        var t = el('table');
        var head = el('tr');
        ['name', 'in', 'required', 'description'].forEach(function (h) { head.appendChild(el('th', null, h)); });
        t.appendChild(head);
        op.parameters.forEach(function (p) {
          var row = el('tr');
          [p.name, p.in, p.required ? 'yes' : 'no', p.description || ''].forEach(function (v) {
            row.appendChild(el('td', null, String(v)));
          });
          t.appendChild(row);
        });
        body.appendChild(el('h4', null, 'Parameters'));
        body.appendChild(t);
      }
      if (op.requestBody) {
        body.appendChild(el('h4', null, 'Request body (application/json)'));
        body.appendChild(schemaBlock(op.requestBody.content['application/json'].schema));
      }
      body.appendChild(el('h4', null, 'Responses'));
      var rt = el('table');
      Object.keys(op.responses).sort().forEach(function (code) {
        var row = el('tr');
        row.appendChild(el('td', null, code));
        row.appendChild(el('td', null, op.responses[code].description));
        rt.appendChild(row);
      });
      body.appendChild(rt);
      box.appendChild(body);
      root.appendChild(box);
    });
  });
}());
"""

ASSETS = {"docs.js": (JS, "application/javascript; charset=utf-8"),
          "docs.css": (CSS, "text/css; charset=utf-8")}
