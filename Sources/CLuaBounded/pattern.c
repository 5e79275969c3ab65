/*
 * Lua 5.4 patterns, with every step charged to the running call.
 *
 * A backtracking matcher with Lua's semantics (the same match is found, the same errors are
 * raised, the same nesting limit applies), written for this project. Each step (an item tried at
 * a position, a character counted by a quantifier, a start position) costs one instruction of the
 * call's budget through runner_lua_charge, which also checks the deadline and cancellation and
 * raises from C. Tests compare it with Lua's own functions on a table of cases
 * (Tests/RunnerLuaTests/LuaPatternTests.swift).
 */
#define _GNU_SOURCE
#include "../CLua/shim.h"
#include "include/CLuaBounded.h"
#include "bounded.h"

#include <ctype.h>
#include <string.h>

#define PAT_ESC '%'
/* Nesting of captures and quantifiers before "pattern too complex" (Lua's MAXCCALLS). */
#define PAT_MAX_DEPTH 200
/* Captures in one pattern (Lua's LUA_MAXCAPTURES). */
#define PAT_MAX_CAPTURES 32
/* Capture lengths that are not lengths. */
#define PAT_OPEN (-1)
#define PAT_POSITION (-2)
/* Characters that make find() use the matcher rather than a plain search. */
static const char pat_specials[] = "^$*+?.([%-";

typedef struct pat_matcher {
    lua_State *L;
    const char *subject;     /* NUL-terminated (a Lua string) */
    const char *subject_end;
    const char *pattern_end; /* the pattern is NUL-terminated too */
    int depth_left;
    int count;               /* captures started */
    struct {
        const char *start;
        ptrdiff_t length;    /* or PAT_OPEN, PAT_POSITION */
    } capture[PAT_MAX_CAPTURES];
} pat_matcher;

static void pat_init(pat_matcher *m, lua_State *L, const char *s, size_t sl, const char *p, size_t pl) {
    m->L = L;
    m->subject = s;
    m->subject_end = s + sl;
    m->pattern_end = p + pl;
}

/* A leading '^' anchors find, match and gsub: skips it and says whether it was there. */
static int pat_skip_anchor(const char **p, size_t *pl) {
    if (**p != '^') return 0;
    (*p)++;
    (*pl)--;
    return 1;
}

/* Before each attempt at a new start position. */
static void pat_reset(pat_matcher *m) {
    m->count = 0;
    m->depth_left = PAT_MAX_DEPTH;
}

static void pat_step(pat_matcher *m) { runner_lua_charge(m->L, 1); }

/* Does character c belong to class letter cls (%a, %D, ...; any other letter stands for itself)? */
static int pat_class(int c, int cls) {
    int in;
    switch (tolower(cls)) {
    case 'a': in = isalpha(c); break;
    case 'c': in = iscntrl(c); break;
    case 'd': in = isdigit(c); break;
    case 'g': in = isgraph(c); break;
    case 'l': in = islower(c); break;
    case 'p': in = ispunct(c); break;
    case 's': in = isspace(c); break;
    case 'u': in = isupper(c); break;
    case 'w': in = isalnum(c); break;
    case 'x': in = isxdigit(c); break;
    case 'z': in = c == 0; break; /* deprecated, still in 5.4 */
    default: return cls == c;
    }
    in = in != 0;
    return isupper(cls) ? !in : in;
}

/* Does c belong to the set from '[' at open to ']' at close? */
static int pat_set(int c, const char *open, const char *close) {
    const char *p = open + 1;
    int found = 1;
    if (*p == '^') {
        found = 0;
        p++;
    }
    for (; p < close; p++) {
        if (*p == PAT_ESC) {
            p++;
            if (pat_class(c, (unsigned char)*p)) return found;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return found;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return found;
        }
    }
    return !found;
}

/* The end of the single-character item at p: past "x", "%x" or "[...]". */
static const char *pat_item_end(pat_matcher *m, const char *p) {
    char first = *p++;
    if (first == PAT_ESC) {
        if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (first != '[') return p;
    if (*p == '^') p++;
    /* The first member is taken as is, so "[]]" and "[^]]" name ']'. */
    do {
        if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing ']')");
        char c = *p++;
        if (c == PAT_ESC && p < m->pattern_end) p++;
    } while (*p != ']');
    return p + 1;
}

/* Does the item from p to end match the character at s? */
static int pat_item(pat_matcher *m, const char *s, const char *p, const char *end) {
    if (s >= m->subject_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case PAT_ESC: return pat_class(c, (unsigned char)p[1]);
    case '[': return pat_set(c, p, end - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *pat_match(pat_matcher *m, const char *s, const char *p);

/* %bxy at s (p points at x): the end of the balanced run, or NULL. */
static const char *pat_balanced(pat_matcher *m, const char *s, const char *p) {
    if (p >= m->pattern_end - 1) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != p[0]) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < m->subject_end) {
        pat_step(m);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

/* %1..%9 at s: the end of a copy of that capture, or NULL. */
static const char *pat_backref(pat_matcher *m, const char *s, int digit) {
    int i = digit - '1';
    if (i < 0 || i >= m->count || m->capture[i].length == PAT_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    ptrdiff_t length = m->capture[i].length;
    if (length < 0 || m->subject_end - s < length) return NULL; /* a position never matches */
    runner_lua_charge(m->L, 1 + (length >> 6));
    return memcmp(m->capture[i].start, s, (size_t)length) == 0 ? s + length : NULL;
}

static const char *pat_open_capture(pat_matcher *m, const char *s, const char *p, ptrdiff_t kind) {
    if (m->count >= PAT_MAX_CAPTURES) luaL_error(m->L, "too many captures");
    int i = m->count++;
    m->capture[i].start = s;
    m->capture[i].length = kind;
    const char *end = pat_match(m, s, p);
    if (end == NULL) m->count--;
    return end;
}

static const char *pat_close_capture(pat_matcher *m, const char *s, const char *p) {
    int i = m->count - 1;
    while (i >= 0 && m->capture[i].length != PAT_OPEN) i--;
    if (i < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[i].length = s - m->capture[i].start;
    const char *end = pat_match(m, s, p);
    if (end == NULL) m->capture[i].length = PAT_OPEN;
    return end;
}

/* item* (greedy): the longest run first, then shorter ones. */
static const char *pat_greedy(pat_matcher *m, const char *s, const char *p, const char *item_end) {
    ptrdiff_t n = 0;
    while (pat_item(m, s + n, p, item_end)) {
        pat_step(m);
        n++;
    }
    for (; n >= 0; n--) {
        const char *end = pat_match(m, s + n, item_end + 1);
        if (end != NULL) return end;
    }
    return NULL;
}

/* item- (lazy): the shortest run first, then longer ones. */
static const char *pat_lazy(pat_matcher *m, const char *s, const char *p, const char *item_end) {
    for (;;) {
        const char *end = pat_match(m, s, item_end + 1);
        if (end != NULL) return end;
        if (!pat_item(m, s, p, item_end)) return NULL;
        s++;
    }
}

/* Matches pattern p at s; returns the end of the match or NULL. */
static const char *pat_match(pat_matcher *m, const char *s, const char *p) {
    if (m->depth_left == 0) luaL_error(m->L, "pattern too complex");
    m->depth_left--;
    for (;;) {
        pat_step(m);
        if (p >= m->pattern_end) break;
        if (*p == '(') {
            s = p[1] == ')' ? pat_open_capture(m, s, p + 2, PAT_POSITION) : pat_open_capture(m, s, p + 1, PAT_OPEN);
            break;
        }
        if (*p == ')') {
            s = pat_close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->pattern_end) {
            if (s != m->subject_end) s = NULL;
            break;
        }
        if (*p == PAT_ESC && p[1] == 'b') {
            s = pat_balanced(m, s, p + 2);
            if (s == NULL) break;
            p += 4;
            continue;
        }
        if (*p == PAT_ESC && p[1] == 'f') {
            p += 2;
            if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
            const char *set_end = pat_item_end(m, p);
            int before = s == m->subject ? '\0' : (unsigned char)s[-1];
            int at = (unsigned char)*s; /* '\0' at the end of the subject */
            if (pat_set(before, p, set_end - 1) || !pat_set(at, p, set_end - 1)) {
                s = NULL;
                break;
            }
            p = set_end;
            continue;
        }
        if (*p == PAT_ESC && isdigit((unsigned char)p[1])) {
            s = pat_backref(m, s, (unsigned char)p[1]);
            if (s == NULL) break;
            p += 2;
            continue;
        }
        /* A single-character item with an optional quantifier. */
        const char *item_end = pat_item_end(m, p);
        char quantifier = *item_end; /* '\0' at the end of the pattern */
        if (!pat_item(m, s, p, item_end)) {
            if (quantifier == '*' || quantifier == '?' || quantifier == '-') {
                p = item_end + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (quantifier == '?') {
            const char *end = pat_match(m, s + 1, item_end + 1);
            if (end != NULL) {
                s = end;
                break;
            }
            p = item_end + 1;
            continue;
        }
        if (quantifier == '+') {
            s = pat_greedy(m, s + 1, p, item_end);
            break;
        }
        if (quantifier == '*') {
            s = pat_greedy(m, s, p, item_end);
            break;
        }
        if (quantifier == '-') {
            s = pat_lazy(m, s, p, item_end);
            break;
        }
        s++;
        p = item_end;
    }
    m->depth_left++;
    return s;
}

/* Capture i as (text, length), or PAT_POSITION. Without captures, "capture" 0 is the match s..e. */
static ptrdiff_t pat_capture(pat_matcher *m, int i, const char *s, const char *e, const char **text) {
    if (i >= m->count) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *text = s;
        return e - s;
    }
    ptrdiff_t length = m->capture[i].length;
    if (length == PAT_OPEN) luaL_error(m->L, "unfinished capture");
    *text = m->capture[i].start;
    return length;
}

static void pat_push_capture(pat_matcher *m, int i, const char *s, const char *e) {
    const char *text;
    ptrdiff_t length = pat_capture(m, i, s, e, &text);
    if (length == PAT_POSITION) lua_pushinteger(m->L, (text - m->subject) + 1);
    else lua_pushlstring(m->L, text, (size_t)length);
}

/* Pushes the captures (or the whole match s..e when there are none and s is given). */
static int pat_push_captures(pat_matcher *m, const char *s, const char *e) {
    int n = m->count == 0 && s != NULL ? 1 : m->count;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) pat_push_capture(m, i, s, e);
    return n;
}

/* Lua's string positions: 1-based, negative from the end; returns a 0-based offset (maybe > len). */
static size_t pat_offset(lua_Integer position, size_t length) {
    if (position > 0) return (size_t)position - 1;
    if (position == 0 || position < -(lua_Integer)length) return 0;
    return (size_t)((lua_Integer)length + position);
}

static int pat_has_specials(const char *p, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (p[i] != '\0' && memchr(pat_specials, p[i], sizeof pat_specials - 1) != NULL) return 1;
    }
    return 0;
}

static int pat_find_or_match(lua_State *L, int find) {
    size_t sl, pl;
    const char *s = luaL_checklstring(L, 1, &sl);
    const char *p = luaL_checklstring(L, 2, &pl);
    size_t init = pat_offset(luaL_optinteger(L, 3, 1), sl);
    if (init > sl) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !pat_has_specials(p, pl))) {
        /* glibc's memmem is linear in the lengths (two-way), so one call needs no charging. */
        const char *at = pl == 0 ? s + init : memmem(s + init, sl - init, p, pl);
        if (at == NULL) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (at - s) + 1);
        lua_pushinteger(L, (lua_Integer)((at - s) + pl));
        return 2;
    }
    int anchored = pat_skip_anchor(&p, &pl);
    pat_matcher m;
    pat_init(&m, L, s, sl, p, pl);
    for (const char *start = s + init;; start++) {
        pat_reset(&m);
        const char *end = pat_match(&m, start, p);
        if (end != NULL) {
            if (!find) return pat_push_captures(&m, start, end);
            lua_pushinteger(L, (start - s) + 1);
            lua_pushinteger(L, end - s);
            return pat_push_captures(&m, NULL, NULL) + 2;
        }
        if (anchored || start >= m.subject_end) break;
    }
    luaL_pushfail(L);
    return 1;
}

static int bounded_find(lua_State *L) { return pat_find_or_match(L, 1); }
static int bounded_match(lua_State *L) { return pat_find_or_match(L, 0); }

/* The state of one gmatch iteration, a userdata kept as upvalue 3 (the strings are 1 and 2). */
typedef struct pat_iteration {
    pat_matcher m;
    const char *pattern;
    const char *next;      /* where the next search starts */
    const char *last_end;  /* end of the last match: an empty match there does not count */
} pat_iteration;

static int bounded_gmatch_next(lua_State *L) {
    pat_iteration *it = (pat_iteration *)lua_touserdata(L, lua_upvalueindex(3));
    it->m.L = L;
    for (const char *start = it->next; start <= it->m.subject_end; start++) {
        pat_reset(&it->m);
        const char *end = pat_match(&it->m, start, it->pattern);
        if (end != NULL && end != it->last_end) {
            it->next = it->last_end = end;
            return pat_push_captures(&it->m, start, end);
        }
    }
    return 0;
}

/* In gmatch a leading '^' is an ordinary character (Lua 5.4). */
static int bounded_gmatch(lua_State *L) {
    size_t sl, pl;
    const char *s = luaL_checklstring(L, 1, &sl);
    const char *p = luaL_checklstring(L, 2, &pl);
    size_t init = pat_offset(luaL_optinteger(L, 3, 1), sl);
    if (init > sl) init = sl + 1;
    lua_settop(L, 2);
    pat_iteration *it = (pat_iteration *)lua_newuserdatauv(L, sizeof(pat_iteration), 0);
    pat_init(&it->m, L, s, sl, p, pl);
    it->pattern = p;
    it->next = s + init;
    it->last_end = NULL;
    lua_pushcclosure(L, bounded_gmatch_next, 3);
    return 1;
}

/* Appends replacement template t for the match s..e: %0..%9 are captures, %% is '%'. */
static void pat_add_template(pat_matcher *m, luaL_Buffer *b, const char *s, const char *e, const char *t, size_t tl) {
    const char *end = t + tl;
    while (t < end) {
        const char *escape = (const char *)memchr(t, PAT_ESC, (size_t)(end - t));
        if (escape == NULL) {
            luaL_addlstring(b, t, (size_t)(end - t));
            return;
        }
        luaL_addlstring(b, t, (size_t)(escape - t));
        char c = escape[1]; /* the NUL terminator after a final '%' */
        if (c == PAT_ESC) {
            luaL_addchar(b, PAT_ESC);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)c)) {
            const char *text;
            ptrdiff_t length = pat_capture(m, c - '1', s, e, &text);
            if (length == PAT_POSITION) {
                lua_pushinteger(m->L, (text - m->subject) + 1);
                luaL_addvalue(b);
            } else {
                luaL_addlstring(b, text, (size_t)length);
            }
        } else {
            luaL_error(m->L, "invalid use of '%c' in replacement string", PAT_ESC);
        }
        t = escape + 2;
    }
}

/* Appends the replacement of match s..e (argument 3 of gsub is of type kind). Returns whether
   the text changed (a function or table giving false or nil keeps the match). */
static int pat_add_replacement(pat_matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = pat_push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        pat_push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        size_t tl;
        const char *t = lua_tolstring(L, 3, &tl);
        pat_add_template(m, b, s, e, t, tl);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int bounded_gsub(lua_State *L) {
    size_t sl, pl;
    const char *s = luaL_checklstring(L, 1, &sl);
    const char *p = luaL_checklstring(L, 2, &pl);
    int kind = lua_type(L, 3);
    lua_Integer limit = luaL_optinteger(L, 4, (lua_Integer)sl + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE, 3,
                     "string/function/table");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int anchored = pat_skip_anchor(&p, &pl);
    pat_matcher m;
    pat_init(&m, L, s, sl, p, pl);
    const char *at = s, *last_end = NULL;
    lua_Integer count = 0;
    int changed = 0;
    while (count < limit) {
        pat_reset(&m);
        const char *end = pat_match(&m, at, p);
        if (end != NULL && end != last_end) {
            count++;
            changed |= pat_add_replacement(&m, &b, at, end, kind);
            at = last_end = end;
        } else if (at < m.subject_end) {
            luaL_addchar(&b, *at++);
        } else {
            break;
        }
        if (anchored) break;
    }
    if (changed) {
        luaL_addlstring(&b, at, (size_t)(m.subject_end - at));
        luaL_pushresult(&b);
    } else {
        lua_pushvalue(L, 1);
    }
    lua_pushinteger(L, count);
    return 2;
}

void runner_lua_bounded_patterns(lua_State *L, int string_table) {
    static const luaL_Reg functions[] = {
        {"find", bounded_find}, {"match", bounded_match}, {"gmatch", bounded_gmatch}, {"gsub", bounded_gsub}, {NULL, NULL},
    };
    for (const luaL_Reg *f = functions; f->name != NULL; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, string_table, f->name);
    }
}
