//! `hardcoded-credential`: a secret written into a configuration instead of a reference.
//!
//! ## What it finds
//! Any value `vigil scan`'s rules call a secret; a literal under a secret's name (`env`,
//! `headers`, `Authorization`, `client_secret`, compose `environment`, `--api-key VALUE`,
//! `-e TOKEN=VALUE`, `--header "Authorization: Bearer VALUE"`); a high-entropy token in `env`,
//! `headers` or `args`. References (`${VAR}`, `${env:VAR}`, `${input:id}`,
//! `{{ secrets.X }}`) are not secrets.
//!
//! ## Why it matters
//! Client configurations and manifests are committed, shared and synced; a literal token there
//! leaks to everyone who can read the file (the design's first checklist item).

use super::common::{compose_items, parse_url, services, string_at};
use super::{fx, Check, Cx, Emit, Family, Fixture, Rule};
use crate::input::Kind;
use crate::node::{KeyPath, Node, Seg, Span};
use crate::secrets::{
    bearer_literal, is_credential_word, is_digest_name, is_digest_value, is_secret_name,
    literal_under_secret_name, looks_random, random_hex_or_uuid, strip_references, strip_scheme,
};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "hardcoded-credential",
    family: Family::Credentials,
    severity: Severity::Error,
    summary: "A secret is written into the configuration instead of a reference",
    fix: "Move the secret to the environment or a secret store and write a reference such as ${API_KEY}, ${env:API_KEY} or ${input:api-key}",
    check: Check::File(check),
    examples: EXAMPLES,
    counterexamples: COUNTEREXAMPLES,
};

const EXAMPLES: &[Fixture] = &[
    // A token as a header's or an environment variable's name (black-box tester, session 12
    // round 8: F1).
    fx(".mcp.json", r#"{"mcpServers": {"n": {"type": "http", "url": "https://d.example.com/mcp", "headers": {"Bearer {hex:40}": «"x"}},
  "m": {"type": "http", "url": "https://d.example.com/mcp", "headers": {"X-{hex:40}": «"1"}},
  "e": {"command": "node", "args": ["s.js"], "env": {"{hex:40}": «"1"}}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"gh": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": «"${GH:-{alnum:40}}"}}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"gh": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"],
  "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": «"{alnum:40}"}}}}"#),
    fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp",
  "headers": {"Authorization": «"Bearer sk_live_{alnum:24}"}}}}}"#),
    fx(".cursor/mcp.json", r#"{"mcpServers": {"router": {"url": "https://mcp.example.com/mcp",
  "headers": {"X-Trace": «"sk-or-v1-{hex:64}"}}}}"#),
    // A secret's flag and its value as two items of a compose `command`/`entrypoint`
    // (black-box tester, session 12 round 5: F5).
    fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:1.2.0\n    command: [\"--api-key\", «\"{alpha:8}{digits:4}\"]\n  b:\n    image: ghcr.io/acme/b:1.2.0\n    command: «--token {alpha:8}{digits:4}\n  c:\n    image: ghcr.io/acme/c:1.2.0\n    entrypoint: [\"srv\", \"--token\", «\"{alpha:8}{digits:4}\"]\n  d:\n    image: ghcr.io/acme/d:1.2.0\n    command: [\"sh\", \"-c\", «\"srv --api-key {alpha:8}{digits:4}\"]\n"),
    fx("claude_desktop_config.json", r#"{"mcpServers": {"search": {"command": "node",
  "args": ["server.js", "--api-key", «"{alnum:32}"]}}}"#),
    fx("claude_desktop_config.json", r#"{"mcpServers": {"remote": {"command": "npx",
  "args": ["mcp-remote@0.1.18", "https://mcp.example.com/sse", "--header", «"Authorization: Bearer {alnum:32}"]}}}"#),
    fx("docker-compose.yml", "services:\n  db:\n    image: postgres:16.4\n    environment:\n      POSTGRES_PASSWORD: «hunter2hunter2\n"),
    fx("compose.yaml", "services:\n  bot:\n    image: ghcr.io/acme/bot:1.2.0\n    environment:\n      - «DISCORD_TOKEN={b64digits:18}.{b64url:6}.{b64url:38}\n"),
    fx(".mcp.json", r#"{"mcpServers": {"notion": {"command": "npx", "args": ["-y", "@notionhq/notion-mcp-server@1.8.1"],
  "env": {"OPENAPI_MCP_HEADERS": «"{\"Authorization\": \"Bearer ntn_{alnum:40}\", \"Notion-Version\": \"2022-06-28\"}"}}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"r": {"command": "npx", "args": ["mcp-remote@0.1.18", "https://mcp.example.com/sse", "--header", "Authorization:${AUTH_HEADER}"],
  "env": {"AUTH_HEADER": «"Bearer {hex:40}"}}, "s": {"command": "r-mcp", "env": {"AUTH_HEADER": «"{hex:40}"}}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"db": {"command": "mssql-mcp", "args": ["--conn", «"Server=db.internal;Database=app;User Id=sa;Password={alnum:20};"]}}}"#),
    fx("/h/.codex/config.toml", "[mcp_servers.api]\nurl = \"https://mcp.example.com/mcp\"\nbearer_token = «\"{alnum:32}\"\n"),
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "a-mcp", "env": {"DB_PASSWORD": «482913775120, "API_TOKEN": «"${GH-{alnum:40}}"}},
  "b": {"url": "https://b.example.com/mcp", "headers": {"Authorization": «"Bearer /{alnum:40}", "X-Token": «"<{alnum:40}>"}}}}"#),
    // Key names in other scripts, with diacritics, look-alike letters, compatibility forms or
    // invisible characters are read folded: `pässwört` is `passwort`, `ТОКЕН` is a token,
    // `API\u200B_KEY` is `API_KEY`, `ＰＡＳＳＷＯＲＤ` is `PASSWORD`, `TОKEN` (Cyrillic О) is `TOKEN`.
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "a-mcp", "env": {"pässwört": «"{alpha:8}{digits:4}", "ТОКЕН": «"{alpha:8}{digits:4}",
  "API\u200B_KEY": «"{alpha:8}{digits:4}", "ＰＡＳＳＷＯＲＤ": «"{alpha:8}{digits:4}", "DB_PASSWORD\u2060": «"{alpha:8}{digits:4}", "密码": «"{alpha:8}{digits:4}"}},
  "b": {"url": "https://b.example.com/mcp", "headers": {"Authorization": "Bearer ${B_TOKEN}", "X-\u0410PI-K\u0435Y": «"{alpha:8}{digits:4}", "TОKEN": «"{alpha:8}{digits:4}", "Contraseña": «"{alpha:8}{digits:4}"}}}}"#),
    // Random hex (either case) and UUIDs under neutral names in headers and env.
    fx(".cursor/mcp.json", r#"{"mcpServers": {"r": {"url": "https://mcp.example.com/mcp", "headers": {"X-Custom": «"{hex:64}", "X-Other": «"{hex:8}-{hex:4}-4{hex:3}-a{hex:3}-{hex:12}"}},
  "l": {"command": "l-mcp", "env": {"X": «"{hex:64}", "CONFIG": «"{hex:32}"}}}}"#),
    // camelCase names, a word glued to the end, a word naming whose, a trailing space.
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "a-mcp", "env": {"githubToken": «"{alpha:8}{digits:4}!x", "dbPassword": «"{alpha:8}{digits:4}!x",
  "openaiApiKey": «"{alpha:8}{digits:4}!x", "OPENAIAPIKEY": «"{alpha:8}{digits:4}!x", "api_key_openai": «"{alpha:8}{digits:4}!x", "PGPASSWORD": «"postgres123", "API_KEY ": «"{alpha:8}{digits:4}"}}}}"#),
    // A VS Code input's default or option is written into the file.
    fx(".vscode/mcp.json", r#"{"inputs": [{"type": "promptString", "id": "key", "description": "API key", "password": true, "default": «"{alpha:8}{digits:4}"},
  {"type": "pickString", "id": "tok", "description": "Which one", "options": ["dev", «"{alnum:40}"]}],
  "servers": {"api": {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer ${input:key}", "X-Env": "${input:tok}"}}}}"#),
    // A number after a scheme (black-box tester, session 14 round 9: F8).
    fx(".cursor/mcp.json", r#"{"mcpServers": {"a": {"url": "https://a.example.com/mcp", "headers": {"Authorization": «"Bearer 4711"}}, "b": {"url": "https://b.example.com/mcp", "headers": {"Authorization": «"Basic 1234"}}}}"#),
    // A server's password after npx's package, a JSON header object, a header flag with its
    // header in one argument, `--pat`/`--key` (black-box tester, session 14 round 9: F3, F7).
    fx(".mcp.json", r#"{"mcpServers": {"s": {"command": "npx", "args": ["-y", "some-mysql-mcp@1.0.0", "-u", "root", "-p", «"Summer{digits:4}!"]},
  "r": {"command": "npx", "args": ["-y", "mcp-remote@0.1.29", "https://mcp.example.com/mcp", "--headers", «"{\"Authorization\":\"Bearer Summer{digits:4}!\"}"]},
  "h": {"command": "npx", "args": ["-y", "mcp-remote@0.1.29", "https://mcp.example.com/mcp", «"--header=Authorization: Bearer Summer{digits:4}!"]},
  "p": {"command": "gh-mcp", "args": ["--pat", «"Summer{digits:4}!"]}, "k": {"command": "x-mcp", "args": ["--key", «"Summer{digits:4}!"]},
  "m": {"command": "db-mcp", "args": ["--user=root", «"-p=Summer{digits:4}!"]}}}"#),
    // A compose build's args and a healthcheck's command (black-box tester, session 15 round
    // 11: F4).
    fx("docker-compose.yml", "services:\n  e:\n    image: x/e:1.0.0\n    build: {context: ., args: {NPM_TOKEN: «Summer{digits:4}x}}\n  f:\n    image: x/e:1.0.0\n    build: {context: ., args: [«\"GITHUB_TOKEN=Summer{digits:4}x\"]}\n  d:\n    image: x/d:1.0.0\n    healthcheck: {test: [\"CMD\", \"curl\", \"-H\", «\"Authorization: Bearer Summer{digits:4}x\", \"http://localhost/health\"]}\n  s:\n    image: x/d:1.0.0\n    healthcheck: {test: [\"CMD-SHELL\", «\"curl --api-key Summer{digits:4}x http://localhost/\"]}\n"),
    // `*_PW` and Azure API Management's subscription key (round 14: F4).
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "a-mcp", "env": {"ADMIN_PW": «"Winter{digits:4}!Blue"}}, "b": {"url": "https://b.example.com/mcp", "headers": {"Ocp-Apim-Subscription-Key": «"Winter{digits:4}!Blue"}}}}"#),
    // JSON as an argument, Redis's --requirepass, a key in an authentication block (black-box
    // tester, session 15 round 13: F1-F3).
    fx("claude_desktop_config.json", r#"{"mcpServers": {"s": {"command": "npx", "args": ["-y", "@smithery/cli@1.2.3", "run", "@x/brave", "--config", «"{\"braveApiKey\":\"BSA{alnum:28}\"}"]},
  "c": {"command": "x-mcp", "args": [«"--config={\"password\":\"Hunter{digits:4}pass!\"}"]}, "r": {"command": "redis-server", "args": ["--requirepass", «"S3cret{alpha:6}Pass"]}}}"#),
    fx("docker-compose.yml", "services:\n  redis:\n    image: redis:7.4.1\n    command: «redis-server --requirepass S3cret{alpha:6}Pass\n  s:\n    image: x/s:1.0.0\n    command: [\"server\", \"--foo\", «\"{alnum:32}\"]\n"),
    fx("voice-manifest.json", r#"{"mcp": {"servers": {"b": {"url": "https://api.example.com/mcp", "authentication": {"type": "api_key", "header": "X-API-Key", "key": «"S3cret{alpha:6}2024"}}}}}"#),
    // `user:password@host/path` given to a launcher without its scheme (round 13: F5).
    fx(".mcp.json", r#"{"mcpServers": {"b": {"command": "npx", "args": ["-y", "mcp-remote@0.1.18", «"deploy:{alnum:24}@mcp.example.com/sse"]}}}"#),
    // A password in an image reference (black-box tester, session 15 round 12: F9).
    fx(".mcp.json", r#"{"mcpServers": {"d": {"command": "docker", "args": ["run", "-i", «"user:{alnum:24}@registry.example.com/img:1.0.0"]}}}"#),
    // Programs' own password options and a URL's password inside a command string
    // (black-box tester, session 15 round 12: F3, F4).
    fx(".mcp.json", r#"{"mcpServers": {"b": {"command": "curl", "args": ["-u", «"admin:{alnum:24}", "https://x.example"]},
  "c": {"command": "mysql", "args": ["-uroot", «"-p{alnum:24}"]}, "d": {"command": "sh", "args": ["-c", «"mysql -uroot -p{alnum:24} app"]}, "e": {"command": "redis-cli", "args": ["-a", «"hunter{digits:2}", "ping"]}}}"#),
    fx("docker-compose.yml", "services:\n  a:\n    image: x/a:1.0.0\n    healthcheck: {test: [\"CMD\", \"curl\", \"-u\", «\"admin:{alnum:24}\", \"http://localhost/\"]}\n  b:\n    image: x/a:1.0.0\n    healthcheck: {test: «\"CMD-SHELL redis-cli --pass {alnum:24} ping\"}\n"),
    // A shell's or env's assignments before the program (black-box tester, session 15 round
    // 11: F3).
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "sh", "args": ["-c", «"OPENAI_API_KEY=Summer{digits:4}! node a.js"]}, "b": {"command": "env", "args": [«"OPENAI_API_KEY=Summer{digits:4}!", "node", "a.js"]},
  "c": {"command": «"env OPENAI_API_KEY=Summer{digits:4}! node a.js"}, "d": {"command": «"OPENAI_API_KEY=Summer{digits:4}! node a.js"}}}"#),
    // The user flag of the program itself, after an interpreter's script or the image
    // (black-box tester, session 14 round 10: F6).
    fx(".mcp.json", r#"{"mcpServers": {"py": {"command": "python", "args": ["-u", "db_mcp.py", "-u", "root", "-p", «"Summer{digits:4}!"]},
  "d": {"command": "docker", "args": ["run", "-i", "--rm", "ghcr.io/acme/db:1.0.0", "-u", "root", "-p", «"Summer{digits:4}!"]}, "k": {"command": "x-mcp", "args": ["--key", «"hunter{digits:4}"]}}}"#),
];

const COUNTEREXAMPLES: &[Fixture] = &[
    // A compose list item is judged by its own name, as the map form is; a dated model name is
    // no token (black-box tester, session 15 round 15: F3, F4).
    fx("compose.yaml", "services:\n  bot:\n    image: x/bot:1.0.0\n    environment:\n      - GIT_COMMIT={hex:40}\n      - BUILD_SHA={hex:40}\n      - OPENAI_MODEL=gpt-4o-mini-2024-07-18\n"),
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "a-mcp", "env": {"OPENAI_MODEL": "gpt-4o-mini-2024-07-18"}}}}"#),
    // Compose's `$$` escape keeps a reference a reference (black-box tester, session 15 round
    // 14: F5).
    fx("compose.yaml", "services:\n  bot:\n    image: x/bot:1.0.0\n    environment:\n      REDIS_URL: redis://:$${REDIS_PASSWORD}@redis:6379\n"),
    // Values that send nothing are no literal secret (`remote-without-auth` reports them)
    // (black-box tester, session 15 round 12: F7).
    fx(".mcp.json", r#"{"mcpServers": {"a": {"url": "https://a.example.com/mcp", "headers": {"Authorization": "Bearer:"}}, "b": {"url": "https://b.example.com/mcp", "headers": {"Authorization": "Basic Og=="}},
  "c": {"url": "https://c.example.com/mcp", "headers": {"Authorization": "N/A"}}, "d": {"url": "https://d.example.com/mcp", "headers": {"Authorization": "Bearer ${env:}"}},
  "e": {"url": "https://e.example.com/mcp", "headers": {"Authorization": "Bearer undefined"}}, "f": {"url": "https://f.example.com/mcp", "headers": {"Authorization": "Bearer ${}"}},
  "g": {"url": "https://g.example.com/mcp", "headers": {"Authorization": "Bearer ${{ }}"}}, "h": {"url": "https://h.example.com/mcp", "headers": {"Authorization": "Bearer ${input:}"}}}}"#),
    // `${VAR:?message}` stops Compose when VAR is unset: a reference (black-box tester,
    // session 15 round 12: F6).
    fx("docker-compose.yml", "services:\n  postgres:\n    image: postgres:16.4\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}\n      DB_PASSWORD: ${DB_PASSWORD?DB_PASSWORD must be set}\n      API_TOKEN: ${API_TOKEN:?}\n"),
    // `python -u` is unbuffered output, docker's `-u` the container's user; `--key NAME` names
    // a key (black-box tester, session 14 round 10: F6, F9).
    fx(".mcp.json", r#"{"mcpServers": {"cu": {"command": "curl", "args": ["-u", "admin", "https://x.example"]}, "dk": {"command": "docker", "args": ["run", "-u", "node:node", "ghcr.io/acme/x:1.2.0"]}, "ms": {"command": "mysql", "args": ["-uroot", "-p", "app"]},
  "u": {"command": "sh", "args": ["-c", "curl -f http://localhost:8080/health && node a.js"]}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"py": {"command": "python", "args": ["-u", "server.py", "-p", "profile-a"]},
  "d": {"command": "docker", "args": ["run", "-i", "-u", "1000", "ghcr.io/acme/x:1.2.0", "-p", "profile-a"]},
  "k": {"command": "x-mcp", "args": ["--key", "openai"]}, "n": {"command": "node", "args": ["--inspect", "index.js", "--key", "github-app"]}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "npx", "args": ["-y", "-p", "a@1.0.0", "a", "-u", "root"]}, "b": {"command": "npx", "args": ["-y", "pkg@1.0.0", "-p", "8080"]},
  "c": {"command": "docker", "args": ["run", "-u", "1000", "-p", "127.0.0.1:8080:80", "ghcr.io/acme/x:1.2.0"]}, "d": {"command": "x-mcp", "args": ["--key", "/etc/x/key.pem"]},
  "e": {"command": "npx", "args": ["-y", "mcp-remote@0.1.29", "https://mcp.example.com/mcp", "--headers", "{\"Authorization\":\"Bearer ${TOKEN}\"}", "--header=X-Trace: on"]}}}"#),
    fx("/h/.codex/config.toml", "[mcp_servers.api]\nurl = \"https://mcp.example.com/mcp\"\nenv_http_headers = { \"X-Api-Key\" = \"MY_API_KEY_ENV\" }\nbearer_token_env_var = \"MY_TOKEN\"\n"),
    fx(".mcp.json", r#"{"mcpServers": {"ai": {"command": "ai-mcp", "args": ["--model", "claude-3-5-sonnet-20241022"],
  "env": {"MODEL": "claude-sonnet-4-20250514", "DEFAULT_MODEL": "claude-sonnet-4-20250514", "GIT_COMMIT": "{hex:40}",
    "CONFIG_SHA": "{hex:64}", "NOTION_DATABASE_ID": "{hex:32}", "SESSION_ID": "{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}"}}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"gh": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"],
  "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"}}}}"#),
    // Settings about a secret, not secrets.
    fx(".mcp.json", r#"{"mcpServers": {"x": {"command": "x-mcp", "env": {"PASSWORD_FILE": "pw.txt", "TOKEN_LIMIT": "4096", "API_KEY_HEADER": "X-Api-Key", "MAX_TOKENS": "2048", "tokenUrl": "https://auth.example.com/token"}}}}"#),
    // Digests and ids under names that say so, colours, repeated digits, a nil UUID.
    fx(".mcp.json", r#"{"mcpServers": {"x": {"command": "x-mcp", "env": {"BUNDLE_INTEGRITY": "{hex:64}", "CHECKSUM": "{hex:32}", "REQUEST_UUID": "{hex:8}-{hex:4}-4{hex:3}-a{hex:3}-{hex:12}",
  "COLOR": "ff00aa", "ZEROS": "00000000000000000000000000000000", "NIL": "00000000-0000-0000-0000-000000000000", "TENANT": "11111111-2222-1111-2222-111111111111"}}}}"#),
    fx(".vscode/mcp.json", r#"{"inputs": [{"type": "promptString", "id": "key", "description": "API key", "password": true},
  {"type": "pickString", "id": "region", "description": "Region", "options": ["eu-west-1", "us-east-1"], "default": "eu-west-1"},
  {"type": "promptString", "id": "dir", "description": "Folder", "default": "${workspaceFolder}/data"}],
  "servers": {"api": {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer ${input:key}"}}}}"#),
    fx(".cursor/mcp.json", r#"{"mcpServers": {"a": {"url": "https://x.example/mcp", "headers": {"Authorization": "Bearer ${env:TOKEN}"}}}}"#),
    fx(".continue/config.yaml", "mcpServers:\n  - name: db\n    command: npx\n    args: [\"-y\", \"mcp-sqlite@0.1.0\"]\n    env:\n      SUPABASE_ACCESS_TOKEN: ${{ secrets.SUPABASE_ACCESS_TOKEN }}\n"),
    fx("docker-compose.yml", "services:\n  db:\n    image: postgres:16.4\n    env_file: .env.db\n    environment:\n      POSTGRES_PASSWORD_FILE: /run/secrets/db\n      POSTGRES_USER: bot\n    secrets: [db]\n"),
    fx(".gemini/settings.json", r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/srv/data"],
  "env": {"API_KEY": "$MY_API_TOKEN", "LOG_FORMAT": "json"}}}}"#),
    fx(".mcp.json", r#"{"mcpServers": {"notion": {"command": "npx", "args": ["-y", "@notionhq/notion-mcp-server@1.8.1"],
  "env": {"OPENAPI_MCP_HEADERS": "{\"Authorization\": \"Bearer ${NOTION_TOKEN}\", \"Notion-Version\": \"2022-06-28\"}", "NODE_OPTIONS": "--max-old-space-size=4096"}},
  "n": {"command": "node", "args": ["--max-old-space-size=4096", "server.js"]}}}"#),
    fx("claude_desktop_config.json", r#"{"mcpServers": {"x": {"command": "uvx", "args": ["mcp-server-fetch==2025.4.7"], "env": {"API_KEY": "<YOUR_API_KEY>"}}}}"#),
    // Non-ASCII names that do not name a secret, references and fill-ins under ones that do.
    fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "a-mcp", "env": {"GRÜSSE": "hallo welt", "ЯЗЫК": "русский", "日本語": "こんにちは", "CAFÉ_MODE": "on",
  "ПУБЛИЧНЫЙ_КЛЮЧ": "{alpha:8}{digits:4}", "pässwört": "${PASSWORT}", "ТОКЕН": "<ВАШ_ТОКЕН>", "API\u200B_KEY": "${env:API_KEY}"}}}}"#),
];

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    let root = &cx.doc.root;
    let mut seen: std::collections::HashSet<Span> = std::collections::HashSet::new();
    let mut report = |out: &mut Emit<'_>, span: Span, key: &KeyPath, what: &str, secret: &str| {
        if !seen.insert(span) {
            return;
        }
        let place = if key.0.is_empty() {
            "the file".to_owned()
        } else {
            format!("`{key}`")
        };
        // A scan rule's description may start `Bearer credential…`, which redaction would read
        // as a bearer token and mask: the text and the redacted report would then differ.
        let what = match what.split_once(' ') {
            Some((w, rest))
                if w.eq_ignore_ascii_case("bearer") || w.eq_ignore_ascii_case("bot") =>
            {
                format!("{w}-scheme {rest}")
            }
            _ => what.to_owned(),
        };
        out.secret(span, key, format!("{what} in {place}"), secret.to_owned());
    };
    // `vigil scan`'s rules, over the whole text.
    for hit in cx.scan {
        match string_at(root, hit.span.start) {
            // A URL's password or query is credential-in-url's.
            Some((_, node))
                if node
                    .as_str()
                    .and_then(parse_url)
                    .is_some_and(|u| u.password().is_some() || u.query().is_some()) => {}
            Some((key, node)) => {
                report(
                    out,
                    node.span,
                    &key,
                    &hit.description,
                    hit.secret.expose_secret(),
                );
            }
            None => report(
                out,
                hit.span,
                &KeyPath::default(),
                &hit.description,
                hit.secret.expose_secret(),
            ),
        }
    }
    if cx.doc.kind == Kind::ToolsList {
        return;
    }
    // A token written as a header's or an environment variable's name (`"Bearer <token>": "x"`,
    // `"X-<token>": "1"`): sent or exported with every start all the same (black-box tester,
    // session 12 round 8: F1).
    for s in cx.servers {
        let (headers, env) = (s.key.join("headers"), s.launch_key.join("env"));
        for (m, key) in s
            .headers
            .iter()
            .map(|m| (m, &headers))
            .chain(s.env.iter().map(|m| (m, &env)))
        {
            if let Some(tok) = crate::redact::token_in_name(&m.key) {
                report(out, m.value.span, key, "a token written as a name", &tok);
            }
        }
    }
    // Literals under a secret's name, anywhere in the tree.
    for s in cx.strings {
        let node = s.node;
        let Some(text) = node.as_str() else { continue };
        // Codex's `env_http_headers` maps a header to the name of a variable that holds it.
        if is_variable_name(text) && env_var_names(s.path) {
            continue;
        }
        let name = s.last_key();
        // `key` and `value` inside an authentication block (`"authentication": {"type":
        // "api_key", "key": "…"}`) are the credential (black-box tester, session 15 round 13:
        // F3).
        let in_auth = ["key", "value", "secret"]
            .iter()
            .any(|w| name.eq_ignore_ascii_case(w))
            && s.path.iter().any(|seg| {
                matches!(seg, Seg::Key(k) if ["authentication", "auth", "oauth", "oauth2", "credentials", "apikey", "api_key"]
                    .iter()
                    .any(|w| k.eq_ignore_ascii_case(w)))
            });
        // A compose `environment` or `build.args` list item (`- KEY=value`) is judged below
        // by its own name (black-box tester, session 15 round 15: F3).
        if cx.doc.kind == Kind::Compose && compose_list_item(s.path) {
            continue;
        }
        let secret_named = (is_secret_name(name) || in_auth) && !under_args(s.path);
        if let Some((what, value)) =
            value_secret(name, text, secret_named, in_env_or_headers(s.path))
        {
            report(out, node.span, &s.key(), what, &value);
        }
    }
    // A VS Code input's `default` and a `pickString`'s `options` are what the input supplies
    // when the prompt is accepted as offered: a literal there is written into the file. Under
    // an input that asks for a secret (`password`, a secret's id or description, or its
    // `${input:id}` in a secret's place) any literal is one; elsewhere a random-looking one.
    for (list, base) in super::input_not_password::input_lists(cx) {
        for (i, input) in list.elements().iter().enumerate() {
            let secretish = input.get("password").and_then(Node::as_bool) == Some(true)
                || super::input_not_password::asks_for_secret(cx, input);
            let at = base.join(i.to_string());
            let mut offered: Vec<(KeyPath, &Node)> = Vec::new();
            if let Some(d) = input.get("default") {
                offered.push((at.join("default"), d));
            }
            for (j, o) in input
                .get("options")
                .map(Node::elements)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                // An option is a string or `{label, value}`.
                let value = o.get("value").unwrap_or(o);
                offered.push((at.join("options").join(j.to_string()), value));
            }
            for (key, node) in offered {
                let Some(text) = node.as_str() else { continue };
                let (rest, _) = strip_references(text);
                if (secretish && literal_under_secret_name(&rest))
                    || looks_random(&rest)
                    || bearer_literal(&rest)
                {
                    report(
                        out,
                        node.span,
                        &key,
                        "a literal secret offered by an input",
                        strip_scheme(rest.trim()),
                    );
                }
            }
        }
    }
    // Numbers under a secret's name (`"DB_PASSWORD": 123456789012`): clients pass them on as
    // text.
    secret_numbers(root, "", 0, &mut Vec::new(), &mut |node, key| {
        if let crate::node::Value::Number(n) = &node.value {
            report(out, node.span, key, "a literal secret (a number)", n);
        }
    });
    // Command lines.
    for s in cx.servers {
        let command = s.argv.first().map(|a| a.1);
        for (node, what, value) in command_line_secrets(&s.argv, 1, &s.assignments) {
            let key = arg_key(&s.launch_key, node, command);
            report(out, node.span, &key, what, &value);
        }
    }
    // Compose `command` and `entrypoint` (a list, or a string read as shell words): judged as
    // MCP `args` are, a secret's flag with its value in the next item (`--api-key V`).
    if cx.doc.kind == Kind::Compose {
        for (_, svc, key) in services(root) {
            for field in ["command", "entrypoint", "healthcheck"] {
                let Some(n) = svc.get(field) else { continue };
                // `healthcheck.test`: `[CMD, curl, …]`, `[CMD-SHELL, "curl …"]` or a string
                // (black-box tester, session 15 round 11: F4).
                let (n, at) = match field {
                    "healthcheck" => match n.get("test") {
                        Some(t) => (t, key.join(field).join("test")),
                        None => continue,
                    },
                    _ => (n, key.join(field)),
                };
                let mut argv = super::common::compose_argv(n);
                let string_form = n.as_str().is_some();
                if let Some((head, _)) = argv.first() {
                    if head == "CMD" || head == "NONE" || (string_form && head == "CMD-SHELL") {
                        argv.remove(0);
                    } else if head == "CMD-SHELL" && argv.len() > 1 {
                        let (script, node) = argv[1].clone();
                        argv = crate::model::shell_words(&script)
                            .into_iter()
                            .map(|w| (w, node))
                            .collect();
                    }
                }
                // `sh -c "srv --api-key …"` and other wrappers: judged by what they run.
                let (argv, assignments) = crate::model::unwrap_launcher_keeping(argv);
                for (node, what, value) in command_line_secrets(&argv, 0, &assignments) {
                    report(out, node.span, &at, what, &value);
                }
            }
        }
    }
    // A password in a compose image reference (`user:pw@registry/img`); in a command line it
    // is one of the arguments judged above.
    if cx.doc.kind == Kind::Compose {
        for (_, svc, key) in services(root) {
            if let Some(img) = svc.get("image") {
                if let Some(pw) = img.as_str().and_then(super::common::schemeless_password) {
                    report(
                        out,
                        img.span,
                        &key.join("image"),
                        "a password in the image reference",
                        &pw,
                    );
                }
            }
        }
    }
    // Compose `environment` and `build.args` lists (`KEY=value`).
    if cx.doc.kind == Kind::Compose {
        for (_, svc, key) in services(root) {
            for (env, at) in [
                (svc.get("environment"), key.join("environment")),
                (svc.path(&["build", "args"]), key.join("build").join("args")),
            ] {
                let Some(env) = env else {
                    continue;
                };
                if !env.is_array() {
                    continue;
                }
                for (i, (text, node)) in compose_items(env).into_iter().enumerate() {
                    let Some((k, v)) = text.split_once('=') else {
                        continue;
                    };
                    // Judged as the map form's `KEY: value` is.
                    if let Some((what, value)) = value_secret(k, v, is_secret_name(k), true) {
                        report(out, node.span, &at.join(i.to_string()), what, &value);
                    }
                }
            }
        }
    }
}

/// The secret a JSON object written as a string carries (Notion's
/// `OPENAPI_MCP_HEADERS = "{\"Authorization\": \"Bearer …\"}"`): a literal under a
/// secret's name, a `Bearer` literal or a high-entropy token, at most 16 levels deep.
fn secret_in_json(text: &str) -> Option<String> {
    fn walk(v: &serde_json::Value, name: &str, depth: usize) -> Option<String> {
        match v {
            serde_json::Value::String(t) => {
                let (rest, _) = strip_references(t);
                let named = is_secret_name(name) && literal_under_secret_name(&rest);
                (named
                    || looks_random(&rest)
                    || bearer_literal(&rest)
                    || (is_digest_value(&rest) && is_credential_word(name)))
                .then(|| strip_scheme(rest.trim()).to_owned())
            }
            serde_json::Value::Object(m) if depth < 16 => {
                m.iter().find_map(|(k, v)| walk(v, k, depth + 1))
            }
            serde_json::Value::Array(a) if depth < 16 => {
                a.iter().find_map(|v| walk(v, name, depth + 1))
            }
            _ => None,
        }
    }
    let t = text.trim();
    if !(t.starts_with('{') || t.starts_with('[')) || t.len() > 65_536 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(t).ok()?;
    walk(&v, "", 0)
}

/// The password of an ADO/ODBC-style connection string (`Server=db;User Id=sa;Password=…;`).
fn connection_string_secret(text: &str) -> Option<String> {
    if !text.contains(';') || !text.contains('=') || text.len() > 4096 {
        return None;
    }
    text.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        let (rest, _) = strip_references(v);
        (is_secret_name(k.trim()) && literal_under_secret_name(&rest))
            .then(|| rest.trim().to_owned())
    })
}

/// Calls `f` with each number of at least 8 digits written under a secret's name (not in
/// `args`).
fn secret_numbers<'a>(
    n: &'a Node,
    name: &str,
    depth: usize,
    path: &mut Vec<Seg<'a>>,
    f: &mut dyn FnMut(&'a Node, &KeyPath),
) {
    if depth > 64 {
        return;
    }
    match &n.value {
        crate::node::Value::Number(v)
            if v.len() >= 8
                && v.bytes().filter(u8::is_ascii_digit).count() >= 8
                && is_secret_name(name)
                && !crate::secrets::is_id_name(name)
                && !under_args(path) =>
        {
            f(n, &crate::node::key_path(path));
        }
        crate::node::Value::Object(members) => {
            for m in members {
                path.push(Seg::Key(&m.key));
                secret_numbers(&m.value, &m.key, depth + 1, path, f);
                path.pop();
            }
        }
        crate::node::Value::Array(items) => {
            for (i, c) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                secret_numbers(c, name, depth + 1, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Under Codex's `env_http_headers` (or a `*_env_var` key), values name variables.
fn env_var_names(path: &[Seg<'_>]) -> bool {
    path.iter()
        .any(|s| matches!(s, Seg::Key(k) if crate::node::loose_eq(k, "env_http_headers")))
        || matches!(path.last(), Some(Seg::Key(k)) if k.len() >= 8
            && k.as_bytes()[k.len() - 8..].eq_ignore_ascii_case(b"_env_var"))
}

/// `MY_TOKEN`, `GITHUB_PAT`: the shape of an environment variable's name.
fn is_variable_name(v: &str) -> bool {
    let mut b = v.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && v.len() <= 128
}

/// Whether a string is in a launcher's `args` (judged as a command line, word by word); a
/// compose `build.args` entry is a build variable, judged by its name (black-box tester,
/// session 15 round 11: F4).
/// The secret a value under `name` holds: any literal when the name says it is a secret
/// (`secret_named`), else, in env or headers (`in_env`), JSON or a connection string holding
/// one, or a high-entropy value (random hex or a UUID unless the name says digest or id). What
/// it is, and the secret.
fn value_secret(
    name: &str,
    text: &str,
    secret_named: bool,
    in_env: bool,
) -> Option<(&'static str, String)> {
    let (rest, _) = strip_references(text);
    if secret_named {
        let id = crate::secrets::is_id_name(name) && crate::secrets::is_uuid_or_digest(&rest);
        return (literal_under_secret_name(&rest) && !id)
            .then(|| ("a literal secret", strip_scheme(rest.trim()).to_owned()));
    }
    if !in_env {
        return None;
    }
    if let Some(inner) = secret_in_json(&rest).or_else(|| connection_string_secret(text)) {
        return Some(("a literal secret inside a JSON value", inner));
    }
    let random = looks_random(&rest)
        || bearer_literal(&rest)
        || (is_digest_value(&rest) && is_credential_word(name))
        // `secrets.token_hex(32)` or a UUID under a neutral name (`X-Custom`, `CONFIG`): a
        // high-entropy value in env or headers is a secret unless its name says digest or id.
        || (random_hex_or_uuid(&rest) && !is_digest_name(name));
    random.then(|| ("a high-entropy token", strip_scheme(rest.trim()).to_owned()))
}

/// Whether a string is an item of a compose `environment` or `build.args` list.
fn compose_list_item(path: &[Seg<'_>]) -> bool {
    matches!(path, [.., Seg::Key("environment" | "args"), Seg::Index(_)])
}

fn under_args(path: &[Seg<'_>]) -> bool {
    path.iter()
        .enumerate()
        .any(|(i, s)| *s == Seg::Key("args") && (i == 0 || path[i - 1] != Seg::Key("build")))
}

fn in_env_or_headers(path: &[Seg<'_>]) -> bool {
    path.len() >= 2
        && matches!(
            path[path.len() - 2],
            Seg::Key("env" | "headers" | "http_headers" | "environment")
        )
}

fn arg_key(launch: &KeyPath, node: &Node, command: Option<&Node>) -> KeyPath {
    if command.is_some_and(|c| std::ptr::eq(c, node)) {
        launch.join("command")
    } else {
        launch.join("args")
    }
}

/// The secrets of a command line (the command first; words before `from` are not judged, as
/// an MCP server's `command` is not): each assignment a launcher passes over (`env K=V cmd`,
/// `sh -c "K=V cmd"`), judged as `env` is; each word by [`secret_in_arg`], or else as a
/// high-entropy token. The node of each, what it is, and the secret.
fn command_line_secrets<'a>(
    argv: &[(String, &'a Node)],
    from: usize,
    assignments: &[(String, &'a Node)],
) -> Vec<(&'a Node, &'static str, String)> {
    let mut found = Vec::new();
    for (i, (_, node)) in assignments.iter().enumerate() {
        if let Some(value) = secret_in_arg(assignments, i, &|| 0, "") {
            found.push((*node, "a literal secret in the command line", value));
        }
    }
    let args = &argv[argv.len().min(from)..];
    // Where the program's own arguments start, worked out only when a `-p` needs it.
    let own_at = std::cell::OnceCell::new();
    let own = || *own_at.get_or_init(|| own_arguments(argv).saturating_sub(from));
    let prog = argv
        .first()
        .map(|a| crate::model::program_name(&a.0))
        .unwrap_or_default();
    for (i, (text, node)) in args.iter().enumerate() {
        if let Some(value) = secret_in_arg(args, i, &own, &prog) {
            found.push((*node, "a literal secret in the command line", value));
        } else {
            let (rest, _) = strip_references(text);
            if looks_random(&rest) {
                let token = rest.trim().to_owned();
                found.push((*node, "a high-entropy token in the command line", token));
            }
        }
    }
    found
}

/// The secret an argument carries, judged with its neighbours: `--api-key V`, `--token=V`,
/// `-e NAME=V`, `--header "Authorization: Bearer V"`, `NAME=V`.
fn secret_in_arg(
    args: &[(String, &Node)],
    i: usize,
    own: &dyn Fn() -> usize,
    prog: &str,
) -> Option<String> {
    let arg = args[i].0.as_str();
    let prev = i.checked_sub(1).map(|p| args[p].0.as_str()).unwrap_or("");
    let judge = |v: &str| {
        let (rest, _) = strip_references(v);
        literal_under_secret_name(&rest).then(|| strip_scheme(rest.trim()).to_owned())
    };
    // A header flag with its header in one argument (`--header=Authorization: Bearer …`) or
    // a JSON object of headers (`--headers {"Authorization": "Bearer …"}`), as the two-argument
    // form is judged (black-box tester, session 14 round 9: F7).
    let header = |h: &str| -> Option<String> {
        let (rest, _) = strip_references(h);
        if let Some(inner) = secret_in_json(&rest) {
            return Some(inner);
        }
        let (name, v) = h.split_once(':')?;
        is_secret_name(name.trim()).then(|| judge(v)).flatten()
    };
    // JSON given as an argument (`--config '{"braveApiKey": "…"}'`, Smithery's form, or
    // `--config={…}`): judged as JSON in an env value is (black-box tester, session 15 round
    // 13: F1).
    let json_arg = |v: &str| {
        let t = v.trim();
        (t.starts_with('{') && t.ends_with('}'))
            .then(|| secret_in_json(&strip_references(t).0))
            .flatten()
    };
    if let Some(inner) = json_arg(arg) {
        return Some(inner);
    }
    if let Some((flag, v)) = arg.split_once('=') {
        if matches!(flag, "-H" | "--header" | "--headers") {
            return header(v);
        }
        if flag.starts_with('-') {
            if let Some(inner) = json_arg(v) {
                return Some(inner);
            }
        }
        if flag.starts_with('-')
            && (is_secret_name(flag) || password_flag(&args[..i], own, flag, v))
        {
            return judge(v);
        }
        if !flag.starts_with('-') && !flag.contains(['/', ' ', ':']) && is_secret_name(flag) {
            return judge(v);
        }
    }
    if let Some(v) = connection_string_secret(arg) {
        return Some(v);
    }
    if prev.starts_with('-') && !arg.starts_with('-') {
        if is_secret_name(prev) || password_flag(&args[..i - 1], own, prev, arg) {
            return judge(arg);
        }
        if matches!(prev, "-H" | "--header" | "--headers") {
            return header(arg);
        }
    }
    program_password(args, i, prog).and_then(|v| judge(&v))
}

/// A password given the way one program spells it: MySQL's and MariaDB's glued `-pPASSWORD`,
/// curl's and wget's `-u user:password` (`--user`), `redis-cli -a PASSWORD`, and
/// `user:password@host/path` without a scheme (a URL's password, whole or inside a command
/// string, is `credential-in-url`'s) (black-box tester, session 15 rounds 12 and 13).
fn program_password(args: &[(String, &Node)], i: usize, prog: &str) -> Option<String> {
    let arg = args[i].0.as_str();
    let prev = i.checked_sub(1).map(|p| args[p].0.as_str()).unwrap_or("");
    let db = prog.starts_with("mysql") || prog.starts_with("mariadb");
    if db && arg.len() > 2 && arg.starts_with("-p") {
        return Some(arg[2..].to_owned());
    }
    if matches!(prog, "curl" | "wget") {
        let user = if matches!(prev, "-u" | "--user") && !arg.starts_with('-') {
            Some(arg)
        } else {
            arg.strip_prefix("--user=")
        };
        if let Some((_, pw)) = user.and_then(|u| u.split_once(':')) {
            return (!pw.is_empty()).then(|| pw.to_owned());
        }
    }
    if prog.starts_with("redis-cli") && prev == "-a" && !arg.starts_with('-') {
        return Some(arg.to_owned());
    }
    // `user:password@host/path` without its scheme (`mcp-remote deploy:<pw>@host/sse`, a
    // `docker run` image `user:<pw>@registry/img`).
    if !arg.contains("://") && !arg.starts_with('-') {
        return super::common::schemeless_password(arg);
    }
    None
}

/// Whether `flag` takes a password or key in a server's arguments though its name alone does
/// not say so to [`is_secret_name`]: `--pat`, `--key`, `--pw`, and `-p` beside a user name
/// flag before it (`-u root -p …`, as database clients spell it) when its value is no port;
/// `before` is the arguments before the flag (black-box tester, session 14 round 9: F3, F7).
/// The user flag counts only from `own`, where the launched program's own arguments start:
/// `python -u` (unbuffered) and `docker run -u 1000` are the launcher's (black-box tester,
/// session 14 round 10: F6). `--key` with a short lowercase word names a key (`--key openai`,
/// round 10: F9).
fn password_flag(
    before: &[(String, &Node)],
    own: &dyn Fn() -> usize,
    flag: &str,
    value: &str,
) -> bool {
    match flag.to_ascii_lowercase().as_str() {
        "--key" => return !key_name(value),
        "--pat" | "--pw" | "--pwd" | "--pass" | "--passwd" | "--password" | "--requirepass" => {
            return true
        }
        _ => {}
    }
    let port = !value.is_empty()
        && value
            .trim_end_matches("/tcp")
            .trim_end_matches("/udp")
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b':' | b'.' | b'-' | b'[' | b']'));
    flag == "-p"
        && !port
        && before.iter().skip(own()).any(|(a, _)| {
            matches!(a.as_str(), "-u" | "-U" | "--user" | "--username")
                || a.starts_with("--user=")
                || a.starts_with("--username=")
        })
}

/// A short lowercase word (letters, `-`, `_`, `.`), as a key's name is written (`--key openai`,
/// `--key github-app`), not a key.
fn key_name(value: &str) -> bool {
    let v = value.trim();
    (1..=32).contains(&v.len())
        && v.as_bytes()[0].is_ascii_lowercase()
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || matches!(b, b'-' | b'_' | b'.'))
}

/// Where the launched program's own arguments start in `argv` (the command first): after a
/// `docker run` image, after a launcher's package (`npx -y pkg`), after an interpreter's
/// script or module (`python -u server.py`, `node --inspect index.js`); else after the command.
pub(crate) fn own_arguments(argv: &[(String, &Node)]) -> usize {
    if let Some(image) = super::common::docker_run(argv).and_then(|r| r.image) {
        return image + 1;
    }
    if let Some((i, _, _)) = super::common::launched_package(argv) {
        return i + 1;
    }
    let Some(first) = argv.first() else { return 0 };
    let prog = crate::model::program_name(&first.0);
    let interpreter = prog.starts_with("python")
        || matches!(
            prog.as_str(),
            "node" | "nodejs" | "deno" | "bun" | "ruby" | "perl" | "php" | "java" | "dotnet"
        );
    if !interpreter {
        return 1;
    }
    // Interpreter options that take the next word; `-m MOD`, `-c CODE`, `-e CODE` end them.
    let mut i = 1;
    while let Some((a, _)) = argv.get(i) {
        match a.as_str() {
            "-m" | "-c" | "-e" | "--eval" | "-jar" => return i + 2,
            "-W" | "-X" | "-r" | "--require" | "--import" | "--loader" | "-cp" | "-classpath" => {
                i += 2
            }
            "run" if matches!(prog.as_str(), "deno" | "bun" | "dotnet") && i == 1 => i += 1,
            a if a.starts_with('-') => i += 1,
            _ => return i + 1,
        }
    }
    argv.len()
}
