// The JSON API client of the exam-room pages. The access token lives in this tab only
// (memory + sessionStorage, so a reload keeps the same login and the exam stays bound to it);
// it is never put in a cookie or a URL, and it is sent as `Authorization: Bearer`.

const TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && body.detail) || `Server menjawab ${status}.`;
    super(detail);
    this.status = status;
    this.code = (body && body.code) || `http_${status}`;
    this.detail = detail;
    this.body = body || {};
  }

  // Worth trying again later: the server or the way to it had a problem, not the request.
  get retryable() {
    return this.status >= 500 || this.status === 429 || this.status === 408 || this.code === 'save_failed';
  }
}

export class NetworkError extends Error {
  constructor(cause) {
    super('Tidak dapat menghubungi server. Periksa jaringan.');
    this.cause = cause;
    this.retryable = true;
  }
}

export class Client {
  constructor(scope) {
    this.key = `apkd.${scope}.login`;
    this.login = null;
    this.onUnauthorized = () => {};
    this.refreshTimer = null;
    try {
      const saved = sessionStorage.getItem(this.key);
      if (saved) this.login = JSON.parse(saved);
    } catch (_err) {
      this.login = null;
    }
  }

  get loggedIn() {
    return Boolean(this.login && this.login.access_token);
  }

  get username() {
    return this.login ? this.login.username : '';
  }

  get role() {
    return this.login ? this.login.role : '';
  }

  _store(token, username) {
    this.login = {
      access_token: token.access_token,
      // one use: each refresh spends it and brings the next one
      refresh_token: token.refresh_token || (this.login && this.login.refresh_token) || null,
      expires_at: Date.now() + (Number(token.expires_in) || 0) * 1000,
      role: token.role,
      expires_in: token.expires_in,
      username,
    };
    try {
      sessionStorage.setItem(this.key, JSON.stringify(this.login));
    } catch (_err) {
      // private mode without storage: the token stays in memory only
    }
    this._scheduleRefresh(token.expires_in);
  }

  _scheduleRefresh(expiresIn) {
    clearTimeout(this.refreshTimer);
    const seconds = Math.max(30, Math.min(Number(expiresIn) || 900, 86400) * 0.75);
    this.refreshTimer = setTimeout(() => this.refresh().catch(() => {}), seconds * 1000);
  }

  // Forget the login here and end it on the server (best effort: the page forgets it anyway).
  clear() {
    clearTimeout(this.refreshTimer);
    const login = this.login;
    this.login = null;
    try {
      sessionStorage.removeItem(this.key);
    } catch (_err) {
      // nothing stored
    }
    if (login && login.access_token) {
      fetch('/api/v1/auth/logout', {
        method: 'POST',
        headers: {Authorization: `Bearer ${login.access_token}`},
        credentials: 'omit',
        cache: 'no-store',
        keepalive: true,
      }).catch(() => {});
    }
  }

  async signIn(username, password) {
    const token = await this.request('POST', '/api/v1/auth/login', {username, password}, {auth: false});
    this._store(token, username);
    return token;
  }

  // A fresh token for the same login (the exam stays bound to it): with the access token while
  // it is valid; once it has expired (a computer left asleep), with the one-use refresh token.
  // (Spending the refresh token only then keeps a duplicated tab from presenting a spent one,
  // which would end the login.)
  async refresh() {
    if (!this.loggedIn) return null;
    const expired = this.login.expires_at && Date.now() > this.login.expires_at - 10000;
    const token =
      expired && this.login.refresh_token
        ? await this.request('POST', '/api/v1/auth/refresh', {refresh_token: this.login.refresh_token}, {auth: false})
        : await this.request('POST', '/api/v1/auth/refresh');
    this._store(token, this.username);
    return token;
  }

  async request(method, path, body, {auth = true, timeout = TIMEOUT_MS} = {}) {
    const headers = {Accept: 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && this.loggedIn) headers.Authorization = `Bearer ${this.login.access_token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
        signal: controller.signal,
      });
    } catch (err) {
      throw new NetworkError(err);
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    const text = await response.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_err) {
        data = null;
      }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data);
      if (response.status === 401 && auth) this.onUnauthorized(error);
      throw error;
    }
    return data;
  }

  get(path) {
    return this.request('GET', path);
  }

  // A file behind the login (certificate, berita acara PDF): fetched with the Bearer token, then
  // handed to the browser as a download (the token never goes into a URL).
  // A POST that answers with a file (login slips) passes {method: 'POST', body}.
  async download(path, filename, {method = 'GET', body} = {}) {
    let response;
    const headers = this.loggedIn ? {Authorization: `Bearer ${this.login.access_token}`} : {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      throw new NetworkError(err);
    }
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw new ApiError(response.status, data);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    return true;
  }

  post(path, body) {
    return this.request('POST', path, body === undefined ? {} : body);
  }

  put(path, body) {
    return this.request('PUT', path, body);
  }
}

export function describeError(err) {
  if (err instanceof NetworkError) return err.message;
  if (err instanceof ApiError) return err.detail;
  return 'Terjadi kesalahan pada halaman. Muat ulang halaman ini.';
}
