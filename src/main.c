/* ringfence: one binary for the daemon (`serve`) and its administration.
 * Everything past argv lives in the admin command table (src/admin/). */
#include "admin/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
