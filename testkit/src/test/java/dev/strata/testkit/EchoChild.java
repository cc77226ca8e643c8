package dev.strata.testkit;

/**
 * The child {@link ChildJvmTest} runs. Args: {@code mode [n]}. Modes: {@code forever} prints
 * {@code LINE i} without end; {@code exit n} prints {@code n} lines, writes {@code bye} to stderr and
 * exits with status {@code n}; {@code hang} prints {@code READY} and waits for its stdin to close.
 */
public final class EchoChild {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "forever" -> {
                for (long i = 0; ; i++) {
                    System.out.println("LINE " + i);
                }
            }
            case "exit" -> {
                int n = Integer.parseInt(args[1]);
                for (int i = 0; i < n; i++) {
                    System.out.println("LINE " + i);
                }
                System.err.println("bye");
                System.exit(n);
            }
            case "hang" -> {
                System.out.println("READY");
                System.out.flush();
                while (System.in.read() >= 0) {
                    // wait for the parent to close stdin or kill this process
                }
            }
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }
}
