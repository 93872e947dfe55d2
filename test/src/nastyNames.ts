/** Names that broke out of the Job DSL and the start script before (issue 19), and relatives. */
export const NASTY_NAMES = [
  "f/x');Jenkins.instance.doQuietDown();('$(id)",
  "x'''+Jenkins.instance.doQuietDown()+'''",
  '"; touch PWNED; echo "',
  "`touch PWNED`",
  "$(touch PWNED)",
  "${Jenkins.instance.doQuietDown()}",
  "a\\'); Jenkins.instance.doQuietDown(); ('\\",
  "line\n'); Jenkins.instance.doQuietDown(); ('",
  "\\u0027); Jenkins.instance.doQuietDown(); (\\u0027",
  "\u200bmaster",
  "para\u2028graph\r\t\u0000\u007f\u0085end",
  "$((1+1)) ${HOME} $HOME \\$ \\\\ '' \"\" ;|&<>*?[]{}~#!%^",
];
