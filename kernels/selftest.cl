/* semqr self-test kernels: an affine map of an 8-bit or 16-bit grey image to
 * float, out[y * width + x] = a * in[y * stride + x] + b.
 *
 * They exercise what the pipeline's kernels rely on: uchar and ushort reads
 * through a row stride (in pixels) that differs from the width, float
 * arithmetic, float writes, and a 2-D global range that the host rounds up to
 * a multiple of the work-group size, so that work-items outside the image must
 * do nothing. Sizes arrive as arguments; nothing depends on the device.
 *
 * OpenCL C 1.2, no extensions. */

__kernel void selftest_affine_u8(__global const uchar *in, int stride,
                                 int width, int height, float a, float b,
                                 __global float *out)
{
	int x = (int)get_global_id(0);
	int y = (int)get_global_id(1);
	if (x >= width || y >= height)
		return;
	out[y * width + x] = a * (float)in[y * stride + x] + b;
}

__kernel void selftest_affine_u16(__global const ushort *in, int stride,
                                  int width, int height, float a, float b,
                                  __global float *out)
{
	int x = (int)get_global_id(0);
	int y = (int)get_global_id(1);
	if (x >= width || y >= height)
		return;
	out[y * width + x] = a * (float)in[y * stride + x] + b;
}
