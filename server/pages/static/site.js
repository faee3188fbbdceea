// Progressive enhancement for Square Mile's pages. Everything works without this file; with it,
// times show in the reader's own zone, Markdown previews update as you type, and the directory
// can use your location. Live updates will subscribe to the streams named by `data-stream`.
(() => {
  'use strict';
  const csrf = document.body.dataset.csrf || '';

  // Tell the server our time zone, so the next pages it renders (and event forms) use it.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split('; ').includes(`sm_tz=${encodeURIComponent(zone)}`)) {
    const secure = location.protocol === 'https:' ? '; secure' : '';
    document.cookie = `sm_tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; samesite=lax${secure}`;
  }

  // Dates: the server wrote them in its best guess; rewrite them in the reader's own zone.
  for (const time of document.querySelectorAll('time[datetime]')) {
    const at = new Date(time.getAttribute('datetime'));
    if (Number.isNaN(at.getTime())) continue;
    const options = time.dataset.style === 'date' ? { dateStyle: 'medium' } : { dateStyle: 'full', timeStyle: 'short' };
    try {
      time.textContent = new Intl.DateTimeFormat(time.lang || undefined, { ...options, timeZone: zone }).format(at);
    } catch {
      // keep the server's text
    }
  }
  for (const select of document.querySelectorAll('select[name="timeZone"]')) {
    if (select.value === 'UTC' && [...select.options].some((o) => o.value === zone)) select.value = zone;
  }

  // Live Markdown preview: the server renders and sanitizes, exactly as it will when the post is saved.
  for (const editor of document.querySelectorAll('[data-markdown-editor]')) {
    const textarea = editor.querySelector('textarea');
    const output = editor.querySelector('.preview');
    if (!textarea || !output) continue;
    let timer = 0;
    let sent = 0;
    const refresh = async () => {
      const mine = ++sent;
      if (!textarea.value.trim()) {
        output.hidden = true;
        return;
      }
      const response = await fetch('/preview', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, body: textarea.value }),
      });
      if (!response.ok || mine !== sent) return;
      const label = document.createElement('h3');
      label.className = 'preview-label';
      label.textContent = 'Preview';
      const content = document.createElement('div');
      // Sanitized by the server with the same rules as every stored post.
      content.innerHTML = await response.text();
      output.replaceChildren(label, content);
      output.hidden = false;
    };
    textarea.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => void refresh().catch(() => {}), 350);
    });
  }

  // Deleting asks first; without the script the button simply deletes, as any form would.
  document.addEventListener('submit', (event) => {
    const question = event.submitter && event.submitter.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // The directory's "Use my location" fills in the point and searches.
  const locate = document.querySelector('[data-locate]');
  if (locate && 'geolocation' in navigator) {
    locate.hidden = false;
    locate.addEventListener('click', () => {
      navigator.geolocation.getCurrentPosition((position) => {
        const form = locate.closest('form');
        form.elements.lat.value = position.coords.latitude.toFixed(5);
        form.elements.lng.value = position.coords.longitude.toFixed(5);
        form.submit();
      });
    });
  }
})();
