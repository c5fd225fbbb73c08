/* An exec-protocol client (docs/clients.md) that does nothing: it answers the hello with ready and
 * every invocation with ok. bench/exec_bench.sh measures what the protocol itself costs per op. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char* line = NULL;
  size_t capacity = 0;
  if (getline(&line, &capacity, stdin) < 0) return 1; /* the hello */
  fputs("{\"type\":\"ready\"}\n", stdout);
  fflush(stdout);
  while (getline(&line, &capacity, stdin) >= 0) {
    fputs("{\"type\":\"ok\"}\n", stdout);
    fflush(stdout);
  }
  free(line);
  return 0;
}
