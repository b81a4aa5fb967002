/* Test support: each frame's drift from a simulator ground-truth JSON.
 *
 * Frame k's displacement is the mean, over every symbol corner inside the
 * width x height image in frame 0, of (corner in frame k) - (corner in frame
 * 0): the simulator moves the whole scene, so every corner moves alike up to
 * the intra-frame drift between the rows the corners were scanned at. */
#ifndef SEMQR_TEST_TRUTH_FRAMES_H
#define SEMQR_TEST_TRUTH_FRAMES_H

/* Fills tx[0..frames-1], ty[0..frames-1] (frame 0 gives 0) and returns the
 * number of corners averaged; -1 when the file cannot be read or lacks a
 * frame. *period_s (when not NULL) receives derived.frame_period_s. */
int test_truth_frame_shifts(const char *truth_path, int width, int height, int frames,
                            double *tx, double *ty, double *period_s);

#endif
