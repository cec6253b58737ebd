/*
 * eval — `propsim eval`: one CPA decision from params and cluster numbers (or Node objects).
 * Exit codes: 0 ok, 2 usage, input or params error (the message says what to fix).
 */
#ifndef PROPSIM_EVAL_H
#define PROPSIM_EVAL_H

int eval_main(int argc, char **argv);

#endif
