; JSX component uses: <Widget/> and <Widget>...</Widget> reference the component.
; Lower-case names are HTML elements, not code.

((jsx_opening_element
   name: (identifier) @name.reference.call) @reference.call
 (#match? @name.reference.call "^[A-Z]"))

((jsx_self_closing_element
   name: (identifier) @name.reference.call) @reference.call
 (#match? @name.reference.call "^[A-Z]"))
