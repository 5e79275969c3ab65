#ifndef RUNNER_CYAML_SHIM_H
#define RUNNER_CYAML_SHIM_H
#include <yaml.h>
#endif
