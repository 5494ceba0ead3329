/* main.c — the `spinlock` command: embeds LuaJIT with the engine and dispatches.
 *
 *   spinlock <command> [options]     runs recipes/<command>.lua (options parsed by spinlock.cli)
 *   spinlock run FILE.lua [args]     runs a script; `arg` is set as lua.c does (arg[0] = script)
 *   spinlock -e CODE [args]          runs a chunk (`sl` is preloaded as a global)
 *   spinlock [repl]                  interactive prompt (libedit) when stdin is a terminal;
 *                                    bare `spinlock` with piped stdin runs stdin as a script
 *   spinlock --help | --version
 *
 * Process-level policy lives here, library policy in Lua:
 *  - Errors.  A recipe signals a *user* error (bad option, missing file...) by raising a table
 *    {user = true, msg = "..."} (spinlock.cli.user_error builds one): we print
 *    "spinlock <cmd>: error: <msg>" and exit 1, without a traceback.  Anything else is an
 *    unexpected error: message plus a trimmed traceback and a hint to rerun with
 *    SPINLOCK_DEBUG=1 (full traceback, last core error location).  A table with a numeric
 *    `exit_code` and no message exits quietly with that code (`--help` uses it); a nil error is
 *    busted's way of reporting failed specs under Lua 5.1, and exits 1 quietly.
 *  - SIGINT.  During Lua execution the first Ctrl-C sets a hook that raises "interrupted" at the
 *    next interpreted Lua instruction (lua.c's technique); a second Ctrl-C exits at once, for
 *    processes inside a long C kernel or a JIT-compiled loop.  Exit code 130 either way.
 *  - Paths.  lua/, recipes/ and configs/ are found relative to the executable
 *    (/proc/self/exe): next to it (dist folder), one level up (source tree: build/spinlock) or in
 *    ../share/spinlock (make install); SPINLOCK_HOME overrides.  They are published to Lua as
 *    package.loaded["spinlock.paths"].
 *  - Start-up environment, re-exec'd once when it needs changing, because both settings are
 *    read by library constructors before main runs:
 *    · OpenBLAS 0.3.21 picks its slow Prescott kernels on recent Xeons (notes/toolchain.md §7):
 *      set OPENBLAS_CORETYPE.
 *    · libgomp spins at every barrier by default; when other processes share the cores (the
 *      usual case on small machines) a spinning thread holds a core its partner needs, and small
 *      convolutions measured 10-100x slower.  OMP_WAIT_POLICY=passive (sleep at once) fixed that
 *      and did not slow large problems (docs/cli.md, "Threads").  A user's own setting is kept.
 *    The re-exec is skipped under valgrind (LD_PRELOAD names its vgpreload library): memcheck
 *    does not follow exec by default, so the checked program would silently escape it. */
#define _GNU_SOURCE
#include "sl_lua.h"
#include "../core/sl_backend.h"
#include "../core/sl_signal.h"

#include <dirent.h>
#include <limits.h>
#include <luajit.h>
#include <lualib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

/* From engine/lua/l_init.c. */
void sl_lua_preload(lua_State *L);
/* From OpenBLAS (its cblas.h drags in <complex.h>, see toolchain §10). */
char *openblas_get_corename(void);

#define REEXEC_GUARD "SPINLOCK_REEXEC"
#define EXIT_INTERRUPTED 130

static char g_exe[PATH_MAX];        /* absolute path of this executable */
static char g_home[PATH_MAX];       /* directory holding lua/, recipes/, configs/ */
static int  g_debug;                /* SPINLOCK_DEBUG set: full tracebacks */

/* ------------------------------------------------------------------------------------------ */
/* start-up                                                                                    */

/* The OpenBLAS core to ask for when it fell back to Prescott on an AVX2/AVX-512 CPU, or NULL. */
static const char *openblas_core_wanted(void) {
  if (getenv("OPENBLAS_CORETYPE")) return NULL;
  const char *core = openblas_get_corename();
  if (!core || strncasecmp(core, "Prescott", 8) != 0) return NULL;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
}

static void fix_startup_env(char **argv) {
  if (getenv(REEXEC_GUARD)) return;
  const char *pre = getenv("LD_PRELOAD");
  if (pre && strstr(pre, "vgpreload")) return;
  int again = 0;
  const char *want = openblas_core_wanted();
  if (want) { setenv("OPENBLAS_CORETYPE", want, 1); again = 1; }
  if (!getenv("OMP_WAIT_POLICY")) { setenv("OMP_WAIT_POLICY", "passive", 1); again = 1; }
  if (!again) return;
  setenv(REEXEC_GUARD, "1", 1);   /* never loop, even if a setting does not take */
  execv("/proc/self/exe", argv);
  /* exec failed (no /proc?): carry on with the library defaults rather than not at all */
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A home is a directory with lua/spinlock/ in it. */
static int try_home(const char *fmt, const char *dir) {
  char cand[PATH_MAX], probe[PATH_MAX + 16];
  snprintf(cand, sizeof cand, fmt, dir);
  snprintf(probe, sizeof probe, "%s/lua/spinlock", cand);
  if (!is_dir(probe)) return 0;
  if (!realpath(cand, g_home)) snprintf(g_home, sizeof g_home, "%s", cand);
  return 1;
}

static void resolve_paths(void) {
  ssize_t n = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1);
  g_exe[n > 0 ? n : 0] = 0;
  char dir[PATH_MAX - 32];   /* leaves room for the suffixes appended below */
  snprintf(dir, sizeof dir, "%.*s", (int)sizeof dir - 1, g_exe);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");

  const char *env = getenv("SPINLOCK_HOME");
  if (env && *env) { snprintf(g_home, sizeof g_home, "%s", env); return; }
  if (try_home("%s", dir) || try_home("%s/..", dir) || try_home("%s/../share/spinlock", dir)) return;
  /* Nothing found: keep the source-tree guess so `require` errors list a sensible path. */
  snprintf(g_home, sizeof g_home, "%s/..", dir);
  fprintf(stderr, "spinlock: warning: cannot find the Lua library next to %s; set SPINLOCK_HOME "
          "to the folder holding lua/ and recipes/\n", g_exe);
}

/* package.path/cpath get our folders first; the defaults stay so system modules (busted,
 * lyaml from Debian) are still found.  dist/ bundles lyaml's yaml.so under lib/lua/. */
static void setup_lua_paths(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s", g_home, g_home, lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 1);
  lua_getfield(L, -1, "cpath");
  lua_pushfstring(L, "%s/lib/lua/?.so;%s", g_home, lua_tostring(L, -1));
  lua_setfield(L, -3, "cpath");
  lua_pop(L, 1);

  lua_getfield(L, -1, "loaded");
  lua_createtable(L, 0, 6);
  lua_pushstring(L, g_home);
  lua_setfield(L, -2, "home");
  lua_pushfstring(L, "%s/lua", g_home);
  lua_setfield(L, -2, "lua");
  lua_pushfstring(L, "%s/recipes", g_home);
  lua_setfield(L, -2, "recipes");
  lua_pushfstring(L, "%s/configs", g_home);
  lua_setfield(L, -2, "configs");
  lua_pushstring(L, g_exe);
  lua_setfield(L, -2, "exe");
  lua_pushstring(L, SL_VERSION);
  lua_setfield(L, -2, "version");
  lua_setfield(L, -2, "spinlock.paths");
  lua_pop(L, 2);
}

/* ------------------------------------------------------------------------------------------ */
/* running Lua: SIGINT, error handler, reporting                                              */

static lua_State *volatile g_L;
static volatile sig_atomic_t g_interrupted;

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted");
}

/* The hook only fires while the interpreter runs: JIT-compiled loops and long C kernels do
 * not see it, so a second Ctrl-C leaves at once (write and _exit are async-signal-safe). */
static void on_sigint(int sig) {
  (void)sig;
  if (g_interrupted) {
    static const char msg[] = "\nspinlock: interrupted\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(EXIT_INTERRUPTED);
  }
  g_interrupted = 1;
  lua_sethook(g_L, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static int is_marked_table(lua_State *L, int idx, const char *field) {
  if (!lua_istable(L, idx)) return 0;
  lua_getfield(L, idx, field);
  int yes = !lua_isnil(L, -1) && lua_toboolean(L, -1);
  lua_pop(L, 1);
  return yes;
}

/* Message handler: leaves user errors, exit requests and nil alone (a traceback is attached to
 * user errors as .traceback for SPINLOCK_DEBUG); turns anything else into "msg\ntraceback". */
static int msghandler(lua_State *L) {
  if (lua_isnil(L, 1) || is_marked_table(L, 1, "exit_code")) return 1;
  if (is_marked_table(L, 1, "user")) {
    luaL_traceback(L, L, NULL, 1);
    lua_setfield(L, 1, "traceback");
    lua_settop(L, 1);
    return 1;
  }
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  g_L = L;
  g_interrupted = 0;
  signal(SIGINT, on_sigint);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_sethook(L, NULL, 0, 0);
  lua_remove(L, base);
  return status;
}

/* Writes a traceback without the frames that are our own plumbing (the C entry frame, the
 * `error` builtin, spinlock/cli.lua's dispatcher), unless SPINLOCK_DEBUG is set.  The header
 * "stack traceback:" is dropped when no frame is left. */
static void print_trimmed(FILE *f, const char *text) {
  const char *tb = strstr(text, "\nstack traceback:\n");
  if (!tb || g_debug) { fprintf(f, "%s\n", text); return; }
  fprintf(f, "%.*s\n", (int)(tb - text), text);
  const char *p = tb + strlen("\nstack traceback:\n");
  int header = 0;
  while (*p) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)len, p);
    int noise = strstr(line, "[C]: ?") || strstr(line, "[C]: in function 'error'") ||
                strstr(line, "[builtin#") ||
                strstr(line, "spinlock/cli.lua:") || strstr(line, "[C]: in function 'xpcall'");
    if (!noise) {
      if (!header) { fputs("stack traceback:\n", f); header = 1; }
      fprintf(f, "%s\n", line);
    }
    p += len + (e ? 1 : 0);
  }
}

/* Reports the error value on top of the stack (popping it) and returns the exit code. */
static int report(lua_State *L, const char *ctx) {
  int code = 1;
  if (g_interrupted) {
    fprintf(stderr, "%s: interrupted\n", ctx);
    code = EXIT_INTERRUPTED;
  } else if (lua_isnil(L, -1)) {
    /* busted's failure signal under 5.1: it has printed its own report */
  } else if (is_marked_table(L, -1, "user") || is_marked_table(L, -1, "exit_code")) {
    lua_getfield(L, -1, "exit_code");
    if (lua_isnumber(L, -1)) code = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "msg");
    if (is_marked_table(L, -2, "user"))
      fprintf(stderr, "%s: error: %s\n", ctx, lua_isstring(L, -1) ? lua_tostring(L, -1) : "(no message)");
    lua_pop(L, 1);
    if (g_debug) {
      lua_getfield(L, -1, "traceback");
      if (lua_isstring(L, -1)) fprintf(stderr, "%s\n", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  } else {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: error: ", ctx);
    print_trimmed(stderr, msg ? msg : "(no message)");
    if (g_debug) {
      const char *loc = sl_error_location(), *cmsg = sl_error_message();
      if (cmsg && *cmsg) fprintf(stderr, "last core error: %s (%s)\n", cmsg, loc ? loc : "?");
    } else {
      fprintf(stderr, "(unexpected error; rerun with SPINLOCK_DEBUG=1 for the full traceback)\n");
    }
  }
  lua_pop(L, 1);
  fflush(stdout);
  return code;
}

/* Prints a user error found in C (bad command line) and returns the exit code. */
static int usage_error(const char *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: error: ", ctx);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

/* Sets global `sl` to require("spinlock") for interactive use; returns 0 on failure with the
 * message left on the stack. */
static int preload_sl(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushstring(L, "spinlock");
  if (docall(L, 1, 1) != 0) return 0;
  lua_setglobal(L, "sl");
  return 1;
}

/* Sets the global `arg` table: arg[-1] = executable, arg[0] = script, arg[1..] = args. */
static void set_arg(lua_State *L, const char *script, int argc, char **argv) {
  lua_createtable(L, argc, 2);
  lua_pushstring(L, g_exe);
  lua_rawseti(L, -2, -1);
  lua_pushstring(L, script);
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "arg");
}

/* ------------------------------------------------------------------------------------------ */
/* scripts and recipes                                                                         */

/* Runs a script with arguments.  A script that returns a table with a `run` function is a
 * declarative recipe: spinlock.cli.run_spec parses the arguments against it (handling --help)
 * and calls run(opts).  prog is how the user invoked it, for usage lines ("spinlock demo"). */
static int run_script(lua_State *L, const char *ctx, const char *prog, const char *script,
                      int argc, char **argv) {
  set_arg(L, script, argc, argv);
  int st = (strcmp(script, "-") == 0) ? luaL_loadfile(L, NULL) : luaL_loadfile(L, script);
  if (st == LUA_ERRFILE) {
    fprintf(stderr, "%s: error: %s\n", ctx, lua_tostring(L, -1));
    return 1;
  }
  if (st != 0) return report(L, ctx);   /* syntax error: message only, no traceback */
  for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  if (docall(L, argc, 1) != 0) return report(L, ctx);

  int is_spec = 0;
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "run");
    is_spec = lua_isfunction(L, -1);
    lua_pop(L, 1);
  }
  if (!is_spec) { lua_pop(L, 1); return 0; }

  int spec = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushstring(L, "spinlock.cli");
  if (docall(L, 1, 1) != 0) return report(L, ctx);
  lua_getfield(L, -1, "run_spec");
  lua_pushvalue(L, spec);
  lua_getglobal(L, "arg");
  lua_pushstring(L, prog);
  lua_pushstring(L, script);
  if (docall(L, 4, 0) != 0) return report(L, ctx);
  lua_settop(L, spec - 1);
  return 0;
}

static int valid_command_name(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
          *s == '-' || *s == '_')) return 0;
  return 1;
}

/* recipes/<cmd>.lua; `train-vqvae` also finds train_vqvae.lua and vice versa. */
static int find_recipe(const char *cmd, char *out, size_t cap) {
  if (!valid_command_name(cmd)) return 0;
  snprintf(out, cap, "%s/recipes/%s.lua", g_home, cmd);
  if (access(out, R_OK) == 0) return 1;
  char alt[256];
  snprintf(alt, sizeof alt, "%s", cmd);
  for (char *p = alt; *p; p++) *p = *p == '-' ? '_' : *p == '_' ? '-' : *p;
  snprintf(out, cap, "%s/recipes/%s.lua", g_home, alt);
  return access(out, R_OK) == 0;
}

typedef struct { char name[128]; char summary[256]; } recipe_entry;

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const recipe_entry *)a)->name, ((const recipe_entry *)b)->name);
}

/* Lists recipes/NAME.lua (not _helpers) with the text of their first-line "-- summary:" comment,
 * so `spinlock --help` cannot drift from the recipes themselves. */
static int list_recipes(recipe_entry *out, int cap) {
  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof dir, "%s/recipes", g_home);
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < cap) {
    size_t len = strlen(e->d_name);
    if (len < 5 || len - 4 >= sizeof out[n].name || e->d_name[0] == '_' || e->d_name[0] == '.' ||
        strcmp(e->d_name + len - 4, ".lua") != 0) continue;
    snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(len - 4), e->d_name);
    snprintf(out[n].summary, sizeof out[n].summary, "(no summary: add a '-- summary:' first line)");
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "r");
    char line[512];
    if (f && fgets(line, sizeof line, f) && strncmp(line, "-- summary:", 11) == 0) {
      char *s = line + 11;
      while (*s == ' ') s++;
      s[strcspn(s, "\r\n")] = 0;
      snprintf(out[n].summary, sizeof out[n].summary, "%.*s", (int)sizeof out[n].summary - 1, s);
    }
    if (f) fclose(f);
    n++;
  }
  closedir(d);
  qsort(out, n, sizeof *out, cmp_entry);
  return n;
}

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int prev[64], cur[64];
  for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, sizeof(int) * (lb + 1));
  }
  return prev[lb];
}

static void print_help(void) {
  recipe_entry r[256];
  int n = list_recipes(r, 256);
  printf("Spinlock %s — datasets of random stochastic neural operators, their features and a\n"
         "VQ-VAE tokenizer; a C engine driven by LuaJIT.\n\n"
         "Usage:\n"
         "  spinlock <command> [options]    run recipes/<command>.lua\n"
         "  spinlock <command> --help       the options of one command\n"
         "  spinlock run FILE.lua [args]    run a Lua script with the engine (arg[1..] = args)\n"
         "  spinlock -e CODE [args]         run a Lua chunk (`sl` = require \"spinlock\")\n"
         "  spinlock repl                   interactive Lua prompt (also bare `spinlock` on a terminal)\n"
         "  spinlock --version\n\n"
         "Commands:\n", SL_VERSION);
  /* A_b.lua next to A-b.lua is a spelling alias (train_vqvae for train-vqvae): runnable, but
   * listed once, under the dashed name. */
  int shown[256];
  for (int i = 0; i < n; i++) {
    shown[i] = 1;
    if (!strchr(r[i].name, '_')) continue;
    char dashed[128];
    snprintf(dashed, sizeof dashed, "%s", r[i].name);
    for (char *c = dashed; *c; c++) if (*c == '_') *c = '-';
    for (int j = 0; j < n; j++) if (j != i && !strcmp(r[j].name, dashed)) shown[i] = 0;
  }
  int w = 8;
  for (int i = 0; i < n; i++) if (shown[i] && (int)strlen(r[i].name) > w) w = (int)strlen(r[i].name);
  for (int i = 0; i < n; i++) if (shown[i]) printf("  %-*s  %s\n", w, r[i].name, r[i].summary);
  if (n == 0) printf("  (none found in %s/recipes)\n", g_home);
  printf("\nEnvironment:\n"
         "  SPINLOCK_HOME        folder with lua/, recipes/, configs/ (now %s)\n"
         "  SPINLOCK_DEBUG=1     full tracebacks and core error locations\n"
         "  SPINLOCK_CUDA=0      skip the CUDA backend; SPINLOCK_CUDA_PLUGIN=FILE loads that plugin\n"
         "  OPENBLAS_CORETYPE    OpenBLAS kernels (set automatically when OpenBLAS misdetects the CPU)\n"
         "\nDocs: %s/docs/ (cli.md for recipes and options)\n", g_home, g_home);
}

static int unknown_command(const char *cmd) {
  recipe_entry r[256];
  int n = list_recipes(r, 256);
  const char *builtins[] = { "run", "repl", "help" };
  const char *best = NULL;
  int bestd = 3;  /* suggest only near misses */
  for (int i = 0; i < n; i++) {
    int d = edit_distance(cmd, r[i].name);
    if (d < bestd) { bestd = d; best = r[i].name; }
  }
  for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++) {
    int d = edit_distance(cmd, builtins[i]);
    if (d < bestd) { bestd = d; best = builtins[i]; }
  }
  fprintf(stderr, "spinlock: error: unknown command '%s'", cmd);
  if (best) fprintf(stderr, " (did you mean '%s'?)", best);
  fprintf(stderr, "; 'spinlock --help' lists the commands\n");
  return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* REPL                                                                                        */

/* A chunk is incomplete when the parser stopped at the end of input: keep reading. */
static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  const char *mark = "'<eof>'";
  size_t ml = strlen(mark);
  return msg && len >= ml && strcmp(msg + len - ml, mark) == 0;
}

/* Compiles buf, trying "return <buf>" first so that a bare expression prints its value.
 * Returns 0 ok (function on stack), 1 incomplete (nothing pushed), 2 error (message pushed). */
static int compile_chunk(lua_State *L, const char *buf) {
  const char *src = buf[0] == '=' ? buf + 1 : buf;   /* Lua 5.1's "=expr" shorthand */
  lua_pushfstring(L, "return %s", src);
  size_t len;
  const char *ret = lua_tolstring(L, -1, &len);
  int st = luaL_loadbuffer(L, ret, len, "=stdin");
  lua_remove(L, -2);
  if (st == 0) return 0;
  lua_pop(L, 1);
  st = luaL_loadbuffer(L, buf, strlen(buf), "=stdin");
  if (st == 0) return 0;
  if (incomplete(L, st)) { lua_pop(L, 1); return 1; }
  return 2;
}

/* Prints the values from index `first` to the top with spinlock.cli.repr (tables as {..},
 * tensors through their __tostring), falling back to tostring. */
static void print_values(lua_State *L, int first) {
  int top = lua_gettop(L);
  if (top < first) return;
  lua_getglobal(L, "require");
  lua_pushstring(L, "spinlock.cli");
  int have_repr = 0;
  if (lua_pcall(L, 1, 1, 0) == 0 && lua_istable(L, -1)) {
    lua_getfield(L, -1, "repr");
    have_repr = lua_isfunction(L, -1);
    lua_remove(L, -2);
  }
  if (!have_repr) { lua_pop(L, 1); lua_getglobal(L, "tostring"); }
  int fn = lua_gettop(L);
  for (int i = first; i <= top; i++) {
    lua_pushvalue(L, fn);
    lua_pushvalue(L, i);
    const char *s = (docall(L, 1, 1) == 0) ? lua_tostring(L, -1) : NULL;
    printf("%s%s", i > first ? "\t" : "", s ? s : "(unprintable value)");
    lua_pop(L, 1);
  }
  printf("\n");
  fflush(stdout);
  lua_settop(L, first - 1);
}

/* Reads one line; with a terminal through libedit (editing + history), else plain stdin
 * without prompts so piped sessions stay clean.  Returns malloc'd text without the newline. */
static char *read_line(int tty, const char *prompt) {
  if (tty) return readline(prompt);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) { free(line); return NULL; }
  line[strcspn(line, "\n")] = 0;
  return line;
}

/* Ctrl-C at the prompt discards the current input, as in most shells.  The handler is installed
 * without SA_RESTART so that libedit's read() fails with EINTR and readline() returns NULL;
 * the flag tells that apart from end of input. */
static volatile sig_atomic_t g_prompt_interrupted;
static void on_prompt_sigint(int sig) { (void)sig; g_prompt_interrupted = 1; }
static void catch_prompt_sigint(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

static void history_path(char *buf, size_t cap) {
  const char *env = getenv("SPINLOCK_HISTORY"), *home = getenv("HOME");
  if (env && *env) snprintf(buf, cap, "%s", env);
  else if (home && *home) snprintf(buf, cap, "%s/.spinlock_history", home);
  else buf[0] = 0;
}

static int repl(lua_State *L) {
  int tty = isatty(0);
  char hist[PATH_MAX];
  history_path(hist, sizeof hist);
  if (tty) {
    rl_readline_name = "spinlock";   /* ~/.editrc can address us as "spinlock:" */
    using_history();
    stifle_history(2000);
    if (hist[0]) read_history(hist);
    printf("Spinlock %s (%s). `sl` is the library; Ctrl-D exits.\n", SL_VERSION, LUAJIT_VERSION);
  }
  if (!preload_sl(L)) {
    fprintf(stderr, "spinlock: warning: require \"spinlock\" failed, `sl` is not set:\n");
    print_trimmed(stderr, lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_pop(L, 1);
  }

  char *chunk = NULL;       /* accumulated multi-line input */
  size_t chunk_len = 0;
  for (;;) {
    g_prompt_interrupted = 0;
    if (tty) catch_prompt_sigint();
    char *line = read_line(tty, chunk ? ">> " : "sl> ");
    signal(SIGINT, SIG_DFL);
    if (!line && tty && g_prompt_interrupted) {
      printf("\n");
      free(chunk);
      chunk = NULL;
      chunk_len = 0;
      continue;
    }
    if (!line) break;
    if (tty && line[0]) {
      add_history(line);
      if (hist[0]) write_history(hist);  /* now: Ctrl-C at the prompt ends the process */
    }
    size_t ll = strlen(line);
    char *grown = realloc(chunk, chunk_len + ll + 2);
    if (!grown) { free(line); break; }
    chunk = grown;
    if (chunk_len) chunk[chunk_len++] = '\n';
    memcpy(chunk + chunk_len, line, ll + 1);
    chunk_len += ll;
    free(line);

    int st = compile_chunk(L, chunk);
    if (st == 1) continue;
    free(chunk);
    chunk = NULL;
    chunk_len = 0;
    if (st == 2) {
      fprintf(stderr, "%s\n", lua_tostring(L, -1));
      lua_pop(L, 1);
      continue;
    }
    int base = lua_gettop(L);   /* the function sits at base */
    if (docall(L, 0, LUA_MULTRET) != 0) {
      if (g_interrupted) { fprintf(stderr, "interrupted\n"); lua_pop(L, 1); }
      else if (is_marked_table(L, -1, "user")) {
        lua_getfield(L, -1, "msg");
        fprintf(stderr, "error: %s\n", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
        lua_pop(L, 2);
      } else {
        const char *msg = lua_tostring(L, -1);
        print_trimmed(stderr, msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
      }
      fflush(stderr);
      continue;
    }
    print_values(L, base);
  }
  /* End of input inside an unfinished statement: say why it was not run.  Piped input that
   * ends mid-statement was cut short, so that is a failure (exit 1); at a terminal, Ctrl-D is
   * just how one leaves.  Errors of complete statements do not change the exit status: a
   * session goes on after them, as at the prompt. */
  int code = 0;
  if (chunk) {
    if (luaL_loadbuffer(L, chunk, chunk_len, "=stdin") != 0) {
      if (tty) printf("\n");
      fprintf(stderr, "%s (input ended inside an unfinished statement; it was not run)\n", lua_tostring(L, -1));
      fflush(stderr);
      code = tty ? 0 : 1;
    }
    lua_pop(L, 1);
  }
  free(chunk);
  if (tty) printf("\n");
  return code;
}

/* ------------------------------------------------------------------------------------------ */

static int run_chunks(lua_State *L, int argc, char **argv) {
  int i;
  if (!preload_sl(L)) lua_pop(L, 1);   /* `sl` is a convenience; a chunk may still require */
  /* arg: everything after the last -e CODE pair */
  int last = 1;
  while (last + 1 < argc && strcmp(argv[last], "-e") == 0) last += 2;
  set_arg(L, "-e", argc - last, argv + last);
  for (i = 1; i + 1 < argc && strcmp(argv[i], "-e") == 0; i += 2) {
    if (luaL_loadbuffer(L, argv[i + 1], strlen(argv[i + 1]), "=(command line)") != 0)
      return report(L, "spinlock");
    /* `...` holds the same extra arguments as arg[1..], like a script's */
    luaL_checkstack(L, argc - last, "too many arguments");
    for (int a = last; a < argc; a++) lua_pushstring(L, argv[a]);
    if (docall(L, argc - last, 0) != 0) return report(L, "spinlock");
  }
  if (i < argc && strcmp(argv[i], "-e") == 0) return usage_error("spinlock", "-e needs a chunk of Lua code");
  return 0;
}

int main(int argc, char **argv) {
  fix_startup_env(argv);
  g_debug = getenv("SPINLOCK_DEBUG") && strcmp(getenv("SPINLOCK_DEBUG"), "0") != 0;
  resolve_paths();
  sl_backend_load();

  lua_State *L = luaL_newstate();
  if (!L) { fprintf(stderr, "spinlock: error: cannot create a Lua state (out of memory)\n"); return 1; }
  luaL_openlibs(L);
  sl_lua_preload(L);
  setup_lua_paths(L);

  int code = 0;
  const char *a1 = argc > 1 ? argv[1] : NULL;
  if (!a1) {
    code = isatty(0) ? repl(L) : run_script(L, "spinlock", "-", "-", 0, NULL);
  } else if (!strcmp(a1, "--help") || !strcmp(a1, "-h") || !strcmp(a1, "help")) {
    if (argc > 2 && strcmp(a1, "help") == 0) {
      char path[PATH_MAX + 300], ctx[300];
      char *help[] = { "--help" };
      snprintf(ctx, sizeof ctx, "spinlock %s", argv[2]);
      code = find_recipe(argv[2], path, sizeof path) ? run_script(L, ctx, ctx, path, 1, help)
                                                      : unknown_command(argv[2]);
    } else {
      print_help();
    }
  } else if (!strcmp(a1, "--version") || !strcmp(a1, "-v")) {
    printf("spinlock %s (%s)\n", SL_VERSION, LUAJIT_VERSION);
  } else if (!strcmp(a1, "-e")) {
    code = run_chunks(L, argc, argv);
  } else if (!strcmp(a1, "-")) {
    code = run_script(L, "spinlock", "-", "-", argc - 2, argv + 2);
  } else if (!strcmp(a1, "run")) {
    if (argc < 3) code = usage_error("spinlock run", "missing script; usage: spinlock run FILE.lua [args]");
    else {
      char prog[PATH_MAX + 16];
      snprintf(prog, sizeof prog, "spinlock run %s", argv[2]);
      code = run_script(L, "spinlock run", prog, argv[2], argc - 3, argv + 3);
    }
  } else if (!strcmp(a1, "repl")) {
    code = repl(L);
  } else if (a1[0] == '-') {
    code = usage_error("spinlock", "unknown option '%s'; 'spinlock --help' lists the options", a1);
  } else {
    char path[PATH_MAX + 300], ctx[300];
    snprintf(ctx, sizeof ctx, "spinlock %s", a1);
    code = find_recipe(a1, path, sizeof path) ? run_script(L, ctx, ctx, path, argc - 2, argv + 2)
                                              : unknown_command(a1);
  }
  /* A recipe that stopped cooperatively on SIGINT/SIGTERM (sl.signals_install + polling) and
   * returned normally still tells the shell it was interrupted. */
  if (code == 0 && sl_signal_pending()) code = 128 + sl_signal_pending();
  fflush(stdout);
  lua_close(L);
  return code;
}
