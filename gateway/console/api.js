// The console's calls to the API: the admin's tokens kept for the tab's life (sessionStorage,
// never localStorage), one refresh on an expired token, problems turned into readable errors.

const STORE = "evr.console.tokens";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.type = problem?.type || "";
  }
  is(code) {
    return this.type.endsWith(`/${code}`);
  }
}

export class Api {
  constructor() {
    const saved = sessionStorage.getItem(STORE);
    this.tokens = saved ? JSON.parse(saved) : null;
    this.onSignedOut = () => {};
  }

  get signedIn() {
    return this.tokens !== null;
  }

  get accessToken() {
    return this.tokens?.access_token ?? "";
  }

  async login(email, password, totpCode) {
    const body = { email, password };
    if (totpCode) body.totp_code = totpCode;
    const answer = await fetch("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!answer.ok) throw new ApiError(answer.status, await problem(answer));
    this.keep(await answer.json());
  }

  async logout() {
    const tokens = this.tokens;
    this.keep(null);
    if (tokens) {
      await fetch("/v1/auth/logout", {
        method: "POST",
        headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh_token }),
      }).catch(() => {});
    }
  }

  keep(tokens) {
    this.tokens = tokens;
    if (tokens) sessionStorage.setItem(STORE, JSON.stringify(tokens));
    else sessionStorage.removeItem(STORE);
  }

  async refresh() {
    if (!this.tokens?.refresh_token) return false;
    const answer = await fetch("/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: this.tokens.refresh_token }),
    });
    if (!answer.ok) {
      this.keep(null);
      this.onSignedOut();
      return false;
    }
    this.keep(await answer.json());
    return true;
  }

  // A GET with the admin's token; one refresh and retry when the token has expired.
  async get(path, accept = "application/json") {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const answer = await fetch(path, {
        headers: { authorization: `Bearer ${this.accessToken}`, accept },
      });
      if (answer.status === 401 && attempt === 0 && (await this.refresh())) continue;
      if (answer.status === 401) {
        this.keep(null);
        this.onSignedOut();
      }
      if (!answer.ok) throw new ApiError(answer.status, await problem(answer));
      return accept === "application/json" ? answer.json() : answer.text();
    }
    throw new ApiError(401, null);
  }
}

async function problem(answer) {
  try {
    return await answer.json();
  } catch {
    return null;
  }
}
