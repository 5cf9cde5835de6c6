// depbadge's badge builder. The builder is a GET form that works without this script; the script
// only makes it immediate: as the form changes, it sets the preview, the four snippets and the
// page's address, as the server would for the same query (src/http/pages/builder.rs), and it
// shows the copy buttons.
'use strict';
(function () {
  const form = document.getElementById('builder');
  if (!form) return;
  const preview = document.getElementById('preview');
  // The query's order and defaults, as the server writes them.
  const order = ['style', 'scope', 'label', 'compact', 'color', 'labelColor', 'key'];
  const defaults = { style: 'flat', scope: 'runtime' };

  function query() {
    const data = new FormData(form);
    const params = new URLSearchParams();
    for (const name of order) {
      const value = String(data.get(name) || '').trim();
      if (value && value !== defaults[name]) params.append(name, value);
    }
    const text = params.toString();
    return text ? '?' + text : '';
  }

  function attribute(url) {
    return url.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  function snippets(badge, page) {
    return {
      markdown: '[![dependencies](' + badge + ')](' + page + ')',
      html: '<a href="' + attribute(page) + '"><img src="' + attribute(badge) + '" alt="dependencies"></a>',
      rst: '.. image:: ' + badge + '\n   :target: ' + page + '\n   :alt: dependencies',
      asciidoc: 'image:' + badge + '[dependencies,link="' + page + '"]',
    };
  }

  function update() {
    const q = query();
    preview.setAttribute('src', form.dataset.badgePath + q);
    const texts = snippets(form.dataset.badgeUrl + q, form.dataset.pageUrl);
    for (const name of Object.keys(texts)) {
      document.getElementById('snippet-' + name).textContent = texts[name];
    }
    history.replaceState(null, '', form.getAttribute('action') + q);
  }

  form.addEventListener('input', update);
  form.addEventListener('change', update);

  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.hidden = false;
    button.addEventListener('click', function () {
      const text = document.getElementById(button.dataset.copy).textContent;
      const done = function (said) {
        button.textContent = said;
        setTimeout(function () { button.textContent = button.dataset.label; }, 2000);
      };
      if (!navigator.clipboard) return done('Select the text to copy');
      navigator.clipboard.writeText(text).then(
        function () { done('Copied'); },
        function () { done('Select the text to copy'); }
      );
    });
  }
})();
