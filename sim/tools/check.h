/* check — `propsim check`: lint workload manifests for hostname spread (contract: check.c). */
#ifndef PROPSIM_CHECK_H
#define PROPSIM_CHECK_H

int check_main(int argc, char **argv);

#endif
