-- Postern passdb for Dovecot 2.3 (passdb lua, Debian package dovecot-auth-lua).
--
-- Dovecot asks posternd for every IMAP/POP3 password check.  This script is a
-- client of the Dovecot authentication protocol on posternd's auth socket
-- (the socket Postfix uses), so device scopes, last use (service, client IP)
-- and Postern's throttling work the same as for SMTP.
--
-- Install: copy to /etc/dovecot/postern-passdb.lua and include
-- conf/dovecot-postern.conf, which holds:
--   passdb { driver = lua  args = file=/etc/dovecot/postern-passdb.lua blocking=yes }
-- blocking=yes is required: the script waits on a socket, which must happen in
-- an auth-worker process (one request at a time each), never in the auth
-- process itself.  Needs luasocket for Lua 5.4 (Debian package lua-socket).
--
-- Socket path: the environment variable POSTERN_AUTH_SOCKET, which Dovecot
-- passes to its processes when dovecot.conf says
--   import_environment = $import_environment POSTERN_AUTH_SOCKET=/run/postern/auth.sock
-- (Dovecot 2.3 refuses any passdb lua argument besides file=, blocking=,
-- cache_key= and scheme=, so the path cannot travel in `args`.)  Without the
-- variable, DEFAULT_SOCKET below is used.  The socket must be writable by the
-- auth-worker processes (root by default).

local DEFAULT_SOCKET = "/run/postern/auth.sock"
-- Seconds to wait for posternd to connect/answer.  Postern may delay answers to
-- throttle a client (up to 15 s by default): stay above that.
local TIMEOUT = 20

local unix = require("socket.unix")

local SOCKET_PATH = os.getenv("POSTERN_AUTH_SOCKET")
if SOCKET_PATH == nil or SOCKET_PATH == "" then
  SOCKET_PATH = DEFAULT_SOCKET
end

-- base64: luasocket's mime.b64 when available, else plain Lua.
local b64
do
  local ok, mime = pcall(require, "mime")
  if ok and type(mime) == "table" and mime.b64 then
    b64 = function(s) return (mime.b64(s)) or "" end
  else
    local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    b64 = function(s)
      local out = {}
      for i = 1, #s, 3 do
        local a, b, c = s:byte(i, i + 2)
        local n = a * 65536 + (b or 0) * 256 + (c or 0)
        local c1 = (n >> 18) & 63
        local c2 = (n >> 12) & 63
        local c3 = (n >> 6) & 63
        local c4 = n & 63
        out[#out + 1] = chars:sub(c1 + 1, c1 + 1) .. chars:sub(c2 + 1, c2 + 1)
          .. (b and chars:sub(c3 + 1, c3 + 1) or "=")
          .. (c and chars:sub(c4 + 1, c4 + 1) or "=")
      end
      return table.concat(out)
    end
  end
end

-- Tab-escaping of the protocol: 0x01 -> \1 1, TAB -> \1 t, CR -> \1 r,
-- LF -> \1 n, NUL -> \1 0.
local ESC = { ["\1"] = "\1" .. "1", ["\t"] = "\1t", ["\r"] = "\1r", ["\n"] = "\1n", ["\0"] = "\1" .. "0" }
local UNESC = { ["1"] = "\1", ["t"] = "\t", ["r"] = "\r", ["n"] = "\n", ["0"] = "\0" }

local function escape(s)
  return (s:gsub("[\1\t\r\n\0]", ESC))
end

local function unescape(s)
  return (s:gsub("\1(.)", function(c) return UNESC[c] or c end))
end

-- Our process id, sent as CPID (the protocol refuses 0).
local function own_pid()
  local f = io.open("/proc/self/stat", "r")
  if f then
    local pid = tonumber((f:read("l") or ""):match("^(%d+)"))
    f:close()
    if pid and pid > 0 then return pid end
  end
  return math.random(1, 2147483647)
end

-- One persistent connection per auth-worker process.
local conn = nil
local next_id = 0

local function disconnect()
  if conn then conn:close() end
  conn = nil
end

local function connect()
  local c, err = unix.stream()
  if not c then return nil, "socket: " .. tostring(err) end
  c:settimeout(TIMEOUT)
  local ok
  ok, err = c:connect(SOCKET_PATH)
  if not ok then
    c:close()
    return nil, "connect(" .. SOCKET_PATH .. "): " .. tostring(err)
  end
  ok, err = c:send("VERSION\t1\t2\nCPID\t" .. own_pid() .. "\n")
  if not ok then
    c:close()
    return nil, "handshake send: " .. tostring(err)
  end
  while true do
    local line
    line, err = c:receive("*l")
    if not line then
      c:close()
      return nil, "handshake: " .. tostring(err)
    end
    if line == "DONE" then break end
    local major = line:match("^VERSION\t(%d+)\t")
    if major and major ~= "1" then
      c:close()
      return nil, "unsupported protocol version " .. major
    end
  end
  conn, next_id = c, 0
  return true
end

-- Only non-empty values are sent: unset request fields are nil or "" and a
-- port is "0" when unknown.
local function set(v) return v ~= nil and v ~= "" end

local function build_request(id, req, password)
  local f = { "AUTH", tostring(id), "PLAIN", "service=" .. escape(req.service or ""), "nologin" }
  if set(req.local_ip) then f[#f + 1] = "lip=" .. escape(req.local_ip) end
  if set(req.remote_ip) then f[#f + 1] = "rip=" .. escape(req.remote_ip) end
  if set(req.local_port) and req.local_port ~= "0" then f[#f + 1] = "lport=" .. req.local_port end
  if set(req.remote_port) and req.remote_port ~= "0" then f[#f + 1] = "rport=" .. req.remote_port end
  if set(req.session) then f[#f + 1] = "session=" .. escape(req.session) end
  -- req.secured is "", "secured" (loopback / trusted network) or "TLS".
  if set(req.secured) then f[#f + 1] = "secured" end
  -- PLAIN: empty authzid, authcid, password.
  f[#f + 1] = "resp=" .. b64("\0" .. req.user .. "\0" .. password)
  return table.concat(f, "\t") .. "\n"
end

-- Send one AUTH and read until its answer.  Returns the answer's fields
-- ({"OK"|"FAIL", id, k=v...}) or nil, error.
local function exchange(req, password)
  if not conn then
    local ok, err = connect()
    if not ok then return nil, err end
  end
  next_id = next_id + 1
  local id = tostring(next_id)
  local ok, err = conn:send(build_request(id, req, password))
  if not ok then return nil, "send: " .. tostring(err) end
  while true do
    local line
    line, err = conn:receive("*l")
    if not line then return nil, "receive: " .. tostring(err) end
    local verb, rid, rest = line:match("^(%u+)\t(%d+)(.*)$")
    if rid == id then
      if verb == "OK" or verb == "FAIL" then
        local answer = { verb = verb, fields = {} }
        for field in rest:gmatch("\t([^\t]*)") do
          local k, v = field:match("^([^=]*)=(.*)$")
          if k then answer.fields[k] = unescape(v) else answer.fields[field] = true end
        end
        return answer
      end
      -- CONT (we always send resp=) or anything else: out of step.
      return nil, "unexpected answer " .. verb
    end
    -- Lines for other ids or server notices: ignore.
  end
end

function script_init()
  return 0
end

function script_deinit()
  disconnect()
end

-- Dovecot calls this for plaintext mechanisms (PLAIN, LOGIN, USER/PASS).
function auth_password_verify(req, password)
  local reused = conn ~= nil
  local answer, err = exchange(req, password)
  if not answer then
    disconnect()
    -- A kept connection may have gone stale (posternd restarted): retry once
    -- on a fresh one.  A timeout is not retried.
    if reused and not tostring(err):find("timeout", 1, true) then
      answer, err = exchange(req, password)
      if not answer then disconnect() end
    end
  end
  if not answer then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "postern: " .. tostring(err)
  end
  if answer.verb == "OK" then
    -- Postern's canonical login becomes Dovecot's user name.
    local user = answer.fields.user
    if user == nil or user == "" or user == true then user = req.user end
    return dovecot.auth.PASSDB_RESULT_OK, { user = user }
  end
  if answer.fields.code == "temp_fail" or answer.fields.temp then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "postern: temporary failure"
  end
  return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
end

-- Called only for non-plaintext mechanisms (CRAM-MD5, DIGEST-MD5...) and
-- credential lookups, which a password checker cannot serve.
function auth_passdb_lookup(req)
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE,
    "postern: only plaintext mechanisms are supported (auth_mechanisms = plain login)"
end
