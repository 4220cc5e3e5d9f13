/* The delivery kernels of cython/deliver.h for both stored target widths
 * (parsnn.engine.synapses.target_dtype; the engine picks one per rank at build):
 *   parsnn_scatter_runs   - uint32 targets (8 bytes per synapse with the float32 weight),
 *   parsnn_scatter_runs16 - uint16 targets (6 bytes; a rank with at most 65536 local neurons).
 * Both are the one loop of deliver.h, so they visit the synapses in the same order and every ring
 * entry receives the same sum, bit for bit. */
#ifndef PARSNN_DELIVER_KERNELS_H
#define PARSNN_DELIVER_KERNELS_H

#define PARSNN_SCATTER_NAME parsnn_scatter_runs
#define PARSNN_TGT_T uint32_t
#include "deliver.h"
#undef PARSNN_SCATTER_NAME
#undef PARSNN_TGT_T

#define PARSNN_SCATTER_NAME parsnn_scatter_runs16
#define PARSNN_TGT_T uint16_t
#include "deliver.h"
#undef PARSNN_SCATTER_NAME
#undef PARSNN_TGT_T

#endif
