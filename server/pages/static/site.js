// Progressive enhancement for Square Mile's pages. Everything works without this file; with it,
// times show in the reader's own zone, Markdown previews update as you type, the form answering a reply
// opens under it, the directory can use your location, and lists marked `data-stream` take in new posts
// live from the websocket streams.
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
  const localiseTimes = (root) => {
    for (const time of root.querySelectorAll('time[datetime]')) {
      const at = new Date(time.getAttribute('datetime'));
      if (Number.isNaN(at.getTime())) continue;
      const options = time.dataset.style === 'date' ? { dateStyle: 'medium' } : { dateStyle: 'full', timeStyle: 'short' };
      try {
        time.textContent = new Intl.DateTimeFormat(time.lang || undefined, { ...options, timeZone: zone }).format(at);
      } catch {
        // keep the server's text
      }
    }
  };
  localiseTimes(document);
  for (const select of document.querySelectorAll('select[name="timeZone"]')) {
    if (select.value === 'UTC' && [...select.options].some((o) => o.value === zone)) select.value = zone;
  }

  // Live Markdown preview: the server renders and sanitizes, exactly as it will when the post is saved.
  const enhanceEditor = (editor) => {
    const textarea = editor.querySelector('textarea');
    const output = editor.querySelector('.preview');
    if (!textarea || !output) return;
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
  };
  for (const editor of document.querySelectorAll('[data-markdown-editor]')) enhanceEditor(editor);

  // "Reply" under a reply links to a page with the form; here the same form opens in place instead.
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element && event.target.closest('a[data-answer]');
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const opened = link.parentElement.querySelector(':scope > .reply-form');
    if (opened) return opened.querySelector('textarea').focus();
    fetch(link.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(async (response) => {
        // Rendered and escaped by the server with the page's own views.
        const form = response.ok && new DOMParser().parseFromString(await response.text(), 'text/html').querySelector('form.reply-form');
        if (!form) throw new Error('no form');
        link.after(form);
        enhanceEditor(form.querySelector('[data-markdown-editor]'));
        form.querySelector('textarea').focus();
      })
      .catch(() => location.assign(link.href));
  });

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
  // Live updates. A list marked data-stream="home", "neighbourhood:{handle}" or "thread:{id}" listens to its
  // websocket stream (the session cookie counts, since this page is on the server's own origin). New posts are
  // fetched as HTML rendered by the server, the same markup as the page itself, so all escaping stays there.
  const streamed = document.querySelector('[data-stream]');
  if (streamed && 'WebSocket' in window) {
    const [kind, name] = streamed.dataset.stream.split(':');
    const path = kind === 'home' ? 'home' : `neighbourhoods/${encodeURIComponent(kind === 'thread' ? streamed.dataset.neighbourhood : name)}`;
    const threadId = kind === 'thread' ? Number(name) : 0;
    const onlyKind = streamed.dataset.kind;

    const region = document.createElement('div');
    region.className = 'visually-hidden';
    region.setAttribute('role', 'status');
    region.setAttribute('aria-live', 'polite');
    document.body.append(region);
    const announce = (text) => {
      region.textContent = '';
      setTimeout(() => (region.textContent = text), 50);
    };

    const fetchFragment = async (url) => {
      const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (!response.ok) return null;
      const holder = document.createElement('template');
      // Rendered and escaped by the server with the page's own views.
      holder.innerHTML = (await response.text()).trim();
      const element = holder.content.firstElementChild;
      if (element) localiseTimes(element);
      return element;
    };
    const fresh = (element) => {
      element.classList.add('live-new');
      return element;
    };
    const markDeleted = (element, text) => {
      if (!element) return;
      const note = document.createElement('p');
      note.className = 'deleted';
      note.textContent = text;
      const answers = element.querySelector(':scope > ol.replies');
      element.replaceChildren(...(answers ? [note, answers] : [note]));
    };
    const replace = (old, element) => {
      const answers = old.querySelector(':scope > ol.replies');
      if (answers) element.append(answers);
      old.replaceWith(element);
    };

    const onThreadPage = async (event) => {
      if (event.threadId !== threadId || !event.replyId) return;
      const existing = document.getElementById(`reply-${event.replyId}`);
      if (event.event === 'reply.deleted') return markDeleted(existing, 'This reply was deleted.');
      if (event.event === 'reply.edited' && !existing) return;
      const element = await fetchFragment(`/fragments/replies/${event.replyId}`);
      if (!element) return;
      if (existing) return replace(existing, element);
      let list = streamed;
      const parentId = event.reply && event.reply.parentId;
      if (parentId) {
        const parent = document.getElementById(`reply-${parentId}`);
        if (!parent) return;
        list = parent.querySelector(':scope > ol.replies');
        if (!list) {
          list = document.createElement('ol');
          list.className = 'replies';
          list.dataset.parent = String(parentId);
          parent.append(list);
        }
      }
      if (document.getElementById(`reply-${event.replyId}`)) return;
      list.append(fresh(element));
      announce(`New reply from ${(event.reply.author && (event.reply.author.displayName || event.reply.author.username)) || 'a neighbour'}.`);
    };

    const onList = async (event) => {
      const feed = kind === 'home';
      const isReply = event.event.startsWith('reply.');
      if (isReply && !feed) return;
      const id = isReply ? event.replyId : event.threadId;
      const existing = document.getElementById(isReply ? `feed-reply-${id}` : `thread-${id}`);
      if (event.event.endsWith('.deleted')) return markDeleted(existing, isReply ? 'This reply was deleted.' : 'This thread was deleted.');
      if (event.event.endsWith('.edited') && !existing) return;
      // A list of one kind takes in new threads of that kind; a reply's event does not say its thread's kind.
      if (!existing && onlyKind && (isReply || event.thread.kind !== onlyKind)) return;
      const element = await fetchFragment(`/fragments/${isReply ? 'replies' : 'threads'}/${id}?view=${feed ? 'feed' : isReply ? 'tree' : 'list'}`);
      if (!element) return;
      if (existing) return existing.replaceWith(element);
      if (document.getElementById(element.id)) return;
      streamed.prepend(fresh(element));
      announce(isReply ? `New reply in ${event.neighbourhood.name}.` : `New thread in ${event.neighbourhood.name}: ${event.thread.title}.`);
    };

    // One event at a time, so inserts keep the order the server sent them in.
    let queue = Promise.resolve();
    let delay = 1000;
    // The last event's number: after a lost connection the stream is asked for what came since.
    let lastId;
    const connect = () => {
      const resume = lastId === undefined ? '' : `?after=${lastId}`;
      const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/streams/${path}${resume}`);
      socket.addEventListener('message', (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch {
          return;
        }
        if (event.event === 'subscribed') {
          delay = 1000;
          streamed.dataset.live = 'on';
          return;
        }
        if (typeof event.id === 'number') lastId = event.id;
        queue = queue.then(() => (kind === 'thread' ? onThreadPage(event) : onList(event))).catch(() => {});
      });
      socket.addEventListener('close', () => {
        streamed.dataset.live = 'off';
        // Try again later, waiting longer each time, up to a minute.
        setTimeout(connect, delay + Math.random() * 500);
        delay = Math.min(delay * 2, 60_000);
      });
    };
    connect();
  }
})();
