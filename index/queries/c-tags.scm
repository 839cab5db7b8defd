; C tags. Prototypes are not definitions; bodies are.

(function_definition
  declarator: (function_declarator
    declarator: (identifier) @name.definition.function)) @definition.function

(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (identifier) @name.definition.function))) @definition.function

(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name.definition.function)))) @definition.function

(struct_specifier
  name: (type_identifier) @name.definition.struct
  body: (_)) @definition.struct

(union_specifier
  name: (type_identifier) @name.definition.struct
  body: (_)) @definition.struct

(enum_specifier
  name: (type_identifier) @name.definition.enum
  body: (_)) @definition.enum

(type_definition
  declarator: (type_identifier) @name.definition.type) @definition.type

(preproc_function_def
  name: (identifier) @name.definition.macro) @definition.macro

(preproc_def
  name: (identifier) @name.definition.macro) @definition.macro

(call_expression
  function: (identifier) @name.reference.call) @reference.call

(call_expression
  function: (field_expression
    field: (field_identifier) @name.reference.call)) @reference.call

; Definition names are dropped from references by the chunker, so this broad pattern is safe.
((type_identifier) @name.reference.type @reference.type)

(preproc_include
  path: [(string_literal) (system_lib_string)] @name.reference.import) @reference.import
