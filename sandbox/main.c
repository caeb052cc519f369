/* burrow: the command-line front end. Everything it does lives in libburrow. */
#include "config.h"

#include "sandbox/cli.h"

int main(int argc, char **argv)
{
        return cli_main(argc, argv);
}
