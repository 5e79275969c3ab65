#ifndef RUNNER_CLUA_BOUNDED_INTERNAL_H
#define RUNNER_CLUA_BOUNDED_INTERNAL_H

/* Sets find, match, gmatch and gsub in the string library table at stack index string_table. */
void runner_lua_bounded_patterns(lua_State *L, int string_table);

#endif
