#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
__asm__(".symver parsnn_pow_finite,__pow_finite@GLIBC_2.15");
extern double parsnn_pow_finite(double, double);
int main(void){
  uint64_t s = 88172645463325252ULL; long bad = 0, n = 20000000;
  double ys[3] = {0.4, 0.5, 1.3};
  for (long i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    double x;
    if (i % 2) { uint64_t b = (s >> 12) | 0x3ff0000000000000ULL; memcpy(&x, &b, 8); x = (x - 1.0) * 200.0; }
    else { uint64_t b = s & 0x7fefffffffffffffULL; memcpy(&x, &b, 8); }
    double y = ys[i % 3];
    double a = pow(x, y), b = parsnn_pow_finite(x, y);
    if (memcmp(&a, &b, 8)) bad++;
  }
  printf("%ld of %ld differ\n", bad, n);
  return 0;
}
