-- spinlock.cli — declarative command-line options for recipes, user errors, REPL printing.
--
-- A recipe (recipes/<command>.lua) declares what it accepts and returns the declaration; the
-- `spinlock` binary parses the command line against it and calls run(opts):
--
--   -- summary: Generate an operator dataset        (first line: shown by `spinlock --help`)
--   local cli = require "spinlock.cli"
--   return {
--     description = "Longer text for `spinlock generate --help`.",
--     options = {
--       { "config",   type = "path", required = true, help = "experiment config (YAML)" },
--       { "output",   type = "path", default = "datasets/out.h5", help = "HDF5 file to write" },
--       { "num-ops",  type = "int", default = 16, help = "operators to generate" },
--       { "datasets", type = "path", multi = true, help = "one or more input files" },
--       { "mode",     type = "choice", choices = { "fast", "full" }, default = "fast" },
--       { "verbose",  type = "flag", short = "v", help = "say more" },
--     },
--     args = { { "files", multi = true, help = "positional inputs" } },   -- optional
--     run = function(opts) ... opts.num_ops, opts.datasets[1], opts.files ... end,
--   }
--
-- Types: string, path, int, number, choice (with choices = {...}), flag (no value; --no-NAME
-- sets false).  `multi = true` collects every value up to the next option, and repeated uses
-- append: `--datasets a.h5 b.h5 --datasets c.h5`.  Both `--key value` and `--key=value` work;
-- option names use dashes, and opts keys use underscores (`--num-ops` → opts.num_ops; the
-- command line also accepts `--num_ops`).  A value that looks like a negative number is a value.
--
-- User errors: M.user_error("no such file: %s", path) raises a table {user = true, msg = ...};
-- the binary prints "spinlock <command>: error: <msg>" and exits 1 without a traceback.  Every
-- command-line mistake found here is such an error.  Other errors are treated as bugs (message
-- plus traceback).  M.exit(code) ends the command quietly with that exit code.

local M = {}

---------------------------------------------------------------------------------------------
-- errors

local UserError = {}
UserError.__index = UserError
UserError.__tostring = function(e) return e.msg end

--- Raises a user error (no traceback at the top level).  With extra arguments, msg is a
--- string.format pattern.
function M.user_error(msg, ...)
  if select("#", ...) > 0 then msg = string.format(msg, ...) end
  error(setmetatable({ user = true, msg = tostring(msg) }, UserError))
end

function M.is_user_error(e)
  return type(e) == "table" and e.user == true
end

--- Ends the running command with exit code `code` (default 0) without printing anything.
function M.exit(code)
  error({ exit_code = code or 0 })
end

---------------------------------------------------------------------------------------------
-- files and folders

--- "file", "dir" or nil (missing or unreadable).  Plain Lua has no stat: a folder opens for
--- reading but reading from it fails with EISDIR, while a file reads a byte or hits EOF.
function M.path_kind(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local _, err, code = f:read(1)
  f:close()
  if err and (code == 21 or tostring(err):find("directory", 1, true)) then return "dir" end
  return "file"
end

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- Creates folder `path` (and its parents) if needed; a user error naming `what` (e.g.
--- "--output") when it cannot: the path is an existing file, or mkdir failed.
function M.ensure_dir(path, what)
  local label = what and (what .. ": ") or ""
  local kind = M.path_kind(path)
  if kind == "dir" then return path end
  if kind == "file" then M.user_error("%s%s is a file, expected a folder", label, path) end
  os.execute("mkdir -p " .. shell_quote(path) .. " 2>/dev/null")
  if M.path_kind(path) ~= "dir" then
    M.user_error("%scannot create folder %s (a parent is a file or not writable)", label, path)
  end
  return path
end

--- ensure_dir for the folder that will hold file `path` (nothing to do for a bare name).
function M.ensure_parent_dir(path, what)
  local dir = tostring(path):match("^(.*)/[^/]*$")
  if dir and dir ~= "" then M.ensure_dir(dir, what) end
  return path
end

---------------------------------------------------------------------------------------------
-- helpers

--- Levenshtein distance (keys are short, the quadratic loop is fine).
function M.edit_distance(a, b)
  local la, lb = #a, #b
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end
local edit_distance = M.edit_distance

--- The candidate closest to word, if it is a plausible misspelling (else nil).  fold_case:
-- compare ignoring case (the candidate is still returned as written).
function M.nearest(word, candidates, fold_case)
  local best, bestd
  local w = fold_case and word:lower() or word
  for _, c in ipairs(candidates) do
    local d = edit_distance(w, fold_case and c:lower() or c)
    if not bestd or d < bestd then best, bestd = c, d end
  end
  if best and bestd <= math.max(2, math.floor(#word / 3)) then return best end
  return nil
end

--- Text of the "-- summary: ..." comment on the first line of a file, or nil.
function M.read_summary(path)
  local f = path and io.open(path, "r")
  if not f then return nil end
  local line = f:read("*l")
  f:close()
  return line and line:match("^%-%- summary:%s*(.-)%s*$")
end

local function key_of(name) return (name:gsub("%-", "_")) end

-- A token is an option when it starts with '-' and is not a number or a lone '-' (stdin).
local function is_option(tok)
  return tok:sub(1, 1) == "-" and tok ~= "-" and tonumber(tok) == nil
end

---------------------------------------------------------------------------------------------
-- declarations

local TYPES = { string = "VALUE", path = "PATH", int = "N", number = "X", choice = "", flag = "" }

-- Checks a recipe's declaration once and indexes it.  Mistakes here are the recipe author's,
-- so they are plain errors (with a traceback), not user errors.
local function compile(spec)
  if spec._compiled then return spec._compiled end
  local c = { list = {}, by_key = {}, by_short = {}, args = {} }
  for i, o in ipairs(spec.options or {}) do
    local name = o.name or o[1]
    assert(type(name) == "string" and name:match("^[%w][%w%-_]*$"),
           "cli: option #" .. i .. " needs a name like \"num-ops\"")
    local t = o.type or "string"
    assert(TYPES[t], string.format("cli: option --%s has unknown type '%s'", name, tostring(t)))
    assert(t ~= "choice" or type(o.choices) == "table",
           string.format("cli: choice option --%s needs choices = {...}", name))
    local e = { name = name:gsub("_", "-"), key = key_of(name), type = t, help = o.help or "",
                default = o.default, required = o.required, multi = o.multi, short = o.short,
                choices = o.choices, metavar = o.metavar, must_exist = o.must_exist }
    assert(not c.by_key[e.key], "cli: option --" .. e.name .. " declared twice")
    c.list[#c.list + 1] = e
    c.by_key[e.key] = e
    if e.short then
      assert(#e.short == 1 and not c.by_short[e.short], "cli: bad or duplicate short option -" .. e.short)
      c.by_short[e.short] = e
    end
  end
  for i, a in ipairs(spec.args or {}) do
    local name = a.name or a[1]
    assert(type(name) == "string", "cli: positional argument #" .. i .. " needs a name")
    assert(not a.multi or i == #spec.args, "cli: only the last positional argument may be multi")
    c.args[i] = { name = name, key = key_of(name), type = a.type or "string", help = a.help or "",
                  multi = a.multi, required = a.required, default = a.default, choices = a.choices,
                  must_exist = a.must_exist }
  end
  spec._compiled = c
  return c
end

local function convert(o, raw, label)
  local t = o.type
  if t == "int" or t == "number" then
    local v = tonumber(raw)
    if not v or (t == "int" and v ~= math.floor(v)) then
      M.user_error("%s expects %s, got '%s'", label, t == "int" and "an integer" or "a number", raw)
    end
    return v
  elseif t == "choice" then
    for _, c in ipairs(o.choices) do if c == raw then return raw end end
    M.user_error("%s must be one of %s, got '%s'", label, table.concat(o.choices, ", "), raw)
  elseif t == "path" and o.must_exist then
    local kind = M.path_kind(raw)
    if o.must_exist == "dir" then
      if not kind then M.user_error("%s: folder not found: %s", label, raw) end
      if kind ~= "dir" then M.user_error("%s: %s is a file, expected a folder", label, raw) end
    else
      if not kind then M.user_error("%s: file not found: %s", label, raw) end
      if kind == "dir" then M.user_error("%s: %s is a folder, expected a file", label, raw) end
    end
  end
  return raw
end

local function parse_bool(raw, label)
  local v = ({ ["true"] = true, yes = true, on = true, ["1"] = true,
               ["false"] = false, no = false, off = false, ["0"] = false })[raw:lower()]
  if v == nil then M.user_error("%s is a flag: expected true/false, got '%s'", label, raw) end
  return v
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = x end
  return t
end

---------------------------------------------------------------------------------------------
-- usage

local function metavar(o)
  if o.metavar then return o.metavar end
  if o.type == "choice" then return "{" .. table.concat(o.choices, "|") .. "}" end
  return TYPES[o.type]
end

--- The --help text of a declaration.  prog is how the command is invoked ("spinlock demo").
function M.usage(spec, prog, path)
  local c = compile(spec)
  local out = {}
  local function add(s) out[#out + 1] = s end
  local line = "Usage: " .. (prog or "spinlock <command>") .. " [options]"
  for _, a in ipairs(c.args) do
    local m = a.name:upper() .. (a.multi and "..." or "")
    line = line .. " " .. ((a.required and m) or ("[" .. m .. "]"))
  end
  add(line)
  local summary = spec.summary or M.read_summary(path)
  if summary then add(""); add(summary) end
  if spec.description then add(""); add(spec.description) end

  local rows = {}
  for _, a in ipairs(c.args) do
    rows[#rows + 1] = { a.name:upper() .. (a.multi and "..." or ""), a.help, a }
  end
  local arg_rows = #rows
  for _, o in ipairs(c.list) do
    local left = (o.short and ("-" .. o.short .. ", ") or "    ") .. "--" .. o.name
    if o.type ~= "flag" then left = left .. " " .. metavar(o) .. (o.multi and "..." or "") end
    rows[#rows + 1] = { left, o.help, o }
  end
  rows[#rows + 1] = { "-h, --help", "show this help and exit", {} }
  local w = 0
  for _, r in ipairs(rows) do w = math.max(w, #r[1]) end
  w = math.min(w, 30)
  for i, r in ipairs(rows) do
    if i == 1 and arg_rows > 0 then add(""); add("Arguments:") end
    if i == arg_rows + 1 then add(""); add("Options:") end
    local o, notes = r[3], {}
    if o.required then notes[#notes + 1] = "required" end
    if o.default ~= nil and o.type ~= "flag" then
      local d = type(o.default) == "table" and table.concat(o.default, " ") or tostring(o.default)
      notes[#notes + 1] = "default: " .. d
    elseif o.type == "flag" and o.default == true then
      notes[#notes + 1] = "on by default; --no-" .. o.name .. " turns it off"
    end
    local help = r[2] .. (#notes > 0 and ((r[2] ~= "" and " " or "") .. "(" .. table.concat(notes, "; ") .. ")") or "")
    local left = "  " .. r[1]
    if #r[1] > w then add(left); left = "" end
    add((string.format("%-" .. (w + 2) .. "s  %s", left, help):gsub("%s+$", "")))
  end
  return table.concat(out, "\n") .. "\n"
end

---------------------------------------------------------------------------------------------
-- parsing

--- Parses argv (a list of strings; `arg` works) against a declaration and returns opts.
--- `--help` prints the usage and ends the command (M.exit(0)).  prog names the command in
--- messages ("spinlock demo"); path (the recipe file) supplies the summary line.
function M.parse(argv, spec, prog, path)
  local c = compile(spec)
  prog = prog or "spinlock <command>"
  local opts, positional = {}, {}
  local hint = "; see '" .. prog .. " --help'"

  local function unknown(tok)
    local names = {}
    for _, o in ipairs(c.list) do names[#names + 1] = o.name end
    local near = M.nearest(tok:gsub("^%-+", ""), names)
    if near then M.user_error("unknown option %s (did you mean --%s?)%s", tok, near, hint) end
    if #names == 0 then M.user_error("unknown option %s: this command takes no options%s", tok, hint) end
    M.user_error("unknown option %s (valid: --%s)%s", tok, table.concat(names, ", --"), hint)
  end

  local i, n = 1, #argv
  while i <= n do
    local tok = argv[i]
    if tok == "--" then
      for j = i + 1, n do positional[#positional + 1] = argv[j] end
      break
    elseif tok == "--help" or tok == "-h" then
      io.stdout:write(M.usage(spec, prog, path))
      io.stdout:flush()
      M.exit(0)
    elseif is_option(tok) then
      local o, val, negate
      local body = tok:match("^%-%-(.+)$")
      if body then
        local name, v = body:match("^([^=]+)=(.*)$")
        name = name or body
        val = v
        o = c.by_key[key_of(name)]
        if not o and name:sub(1, 3) == "no-" then
          local f = c.by_key[key_of(name:sub(4))]
          if f and f.type == "flag" then o, negate = f, true end
        end
      elseif #tok == 2 then
        o = c.by_short[tok:sub(2)]
      end
      if not o then unknown(body and ("--" .. (body:match("^([^=]+)=") or body)) or tok) end
      local label = "--" .. o.name
      i = i + 1
      if o.type == "flag" then
        if negate then
          if val then M.user_error("--no-%s takes no value", o.name) end
          opts[o.key] = false
        else
          opts[o.key] = (val == nil) or parse_bool(val, label)
        end
      elseif o.multi then
        local list = opts[o.key] or {}
        if val then
          list[#list + 1] = convert(o, val, label)
        else
          local start = i
          while i <= n and not is_option(argv[i]) do
            list[#list + 1] = convert(o, argv[i], label)
            i = i + 1
          end
          if i == start then M.user_error("%s needs at least one value%s", label, hint) end
        end
        opts[o.key] = list
      else
        if val == nil then
          val = argv[i]
          if val == nil or is_option(val) then
            M.user_error("%s needs a value (%s)%s", label, metavar(o), hint)
          end
          i = i + 1
        end
        opts[o.key] = convert(o, val, label)
      end
    else
      positional[#positional + 1] = tok
      i = i + 1
    end
  end

  for _, o in ipairs(c.list) do
    if opts[o.key] == nil then
      if o.required then
        M.user_error("missing required option --%s%s%s", o.name,
                     o.help ~= "" and (" (" .. o.help .. ")") or "", hint)
      end
      if o.type == "flag" then opts[o.key] = o.default == true
      else opts[o.key] = copy(o.default) end
      if o.multi and opts[o.key] == nil then opts[o.key] = {} end
    end
  end

  local p = 1
  for _, a in ipairs(c.args) do
    local label = a.name:upper()
    if a.multi then
      local list = {}
      while p <= #positional do list[#list + 1] = convert(a, positional[p], label); p = p + 1 end
      if #list == 0 and a.required then M.user_error("missing argument %s%s", label, hint) end
      opts[a.key] = list
    elseif positional[p] then
      opts[a.key] = convert(a, positional[p], label)
      p = p + 1
    elseif a.required then
      M.user_error("missing argument %s%s", label, hint)
    else
      opts[a.key] = copy(a.default)
    end
  end
  if positional[p] then
    M.user_error("unexpected argument '%s'%s", positional[p], hint)
  end
  return opts
end

--- Entry point used by the binary for a recipe that returned a declaration.
function M.run_spec(spec, argv, prog, path)
  local opts = M.parse(argv, spec, prog, path)
  return spec.run(opts)
end

---------------------------------------------------------------------------------------------
-- REPL printing

local function is_identifier(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
end

--- Compact one-line rendering for the REPL: tables as {1, 2, x = 3} (two levels, 20 items),
--- strings quoted inside tables, everything with a __tostring (tensors) through tostring.
function M.repr(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "string" then return depth == 0 and v or string.format("%q", v) end
  if t ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if depth >= 2 then return "{...}" end
  local parts, count, limit = {}, 0, 20
  local n = #v
  for i = 1, n do
    count = count + 1
    if count > limit then break end
    parts[#parts + 1] = M.repr(v[i], depth + 1)
  end
  local keys = {}
  for k in pairs(v) do
    if not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  for _, k in ipairs(keys) do
    count = count + 1
    if count > limit then break end
    local ks = is_identifier(k) and k or ("[" .. M.repr(k, depth + 1) .. "]")
    parts[#parts + 1] = ks .. " = " .. M.repr(v[k], depth + 1)
  end
  if count > limit then parts[#parts + 1] = "..." end
  return "{" .. table.concat(parts, ", ") .. "}"
end

return M
