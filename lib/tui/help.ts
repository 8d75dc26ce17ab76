/** The help screen (H, F1). Plain text: no tags, no escapes. */
export const HELP_TEXT = `buildlog view — keys (q, Esc or H closes this help)

 Move     j ↓ ^N ^E  line down       k ↑ ^P ^Y y  line up        <N> before a key = count
          Space f ^F PgDn  page down  b ^B PgUp  page up      d ^D / u ^U  half page
          g < Home  top   G > End  bottom   <N>g :N  line N   <N>%  percent
          ESC-( ESC-)  scroll left/right (with -S)   S-← S-→  first column / end
 Search   /re  forward   ?re  backward   (! non-matching, ^R literal)   n N  next/previous
          hits inside closed sections open them; headers count hits (⌕)   ESC-u  highlight off
 Filter   &re  only matching lines (&!re non-matching; empty & clears)
 Folds    Tab Enter za  toggle     l →  open / first child     h ←  close / parent
          zo zc  open/close   zO zC  recursive   zR zM  all   zx  failure default
          zr zm  one level more/less   zv  reveal focus line   [z  parent header
 Jump     J K  next/previous sibling   } {  ]] [[  next/previous header
          e E  next/previous error   w W  next/previous warning   x  first failure
          X  failure extract: errors in context, failed sections' last lines (X again: back)
 Marks    m<a>  set   '<a>  go   ''  back
 Modes    F  follow (^C stops; scrolling up pauses, G resumes)
          -S chop/wrap   -N line numbers   -H full store paths   -R escapes as text
 Other    =  anchor & counts   s FILE  save the input   r ^L  repaint   ^Z  suspend
          q Q :q ZZ  quit   H F1  help
`
