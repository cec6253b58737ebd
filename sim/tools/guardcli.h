/* guardcli — `propsim guard`: may these nodes be removed? (contract: guardcli.c). */
#ifndef PROPSIM_GUARDCLI_H
#define PROPSIM_GUARDCLI_H

int guard_main(int argc, char **argv);

#endif
