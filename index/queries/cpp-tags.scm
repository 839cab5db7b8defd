; C++ tags. Out-of-line member definitions (void Shape::draw() {...}) capture the class
; as @receiver. Template and other wrappers are captured too so that a definition's
; lines include its template header; the chunker deduplicates by name node.

(function_definition
  declarator: (function_declarator
    declarator: [(identifier) (field_identifier) (destructor_name) (operator_name)]
      @name.definition.function)) @definition.function

(function_definition
  declarator: [(pointer_declarator) (reference_declarator)]
    [(function_declarator
       declarator: [(identifier) (field_identifier) (operator_name)]
         @name.definition.function)]) @definition.function

(function_definition
  declarator: (function_declarator
    declarator: (qualified_identifier
      scope: (_) @receiver
      name: [(identifier) (destructor_name) (operator_name)] @name.definition.function))) @definition.function

(function_definition
  declarator: (function_declarator
    declarator: (qualified_identifier
      name: (qualified_identifier
        scope: (_) @receiver
        name: [(identifier) (destructor_name) (operator_name)] @name.definition.function)))) @definition.function

(template_declaration
  (function_definition
    declarator: (function_declarator
      declarator: [(identifier) (field_identifier)] @name.definition.function))) @definition.function

(template_declaration
  (class_specifier
    name: (type_identifier) @name.definition.class
    body: (_))) @definition.class

(template_declaration
  (struct_specifier
    name: (type_identifier) @name.definition.struct
    body: (_))) @definition.struct

(class_specifier
  name: (type_identifier) @name.definition.class
  body: (_)) @definition.class

(struct_specifier
  name: (type_identifier) @name.definition.struct
  body: (_)) @definition.struct

(union_specifier
  name: (type_identifier) @name.definition.struct
  body: (_)) @definition.struct

(enum_specifier
  name: (type_identifier) @name.definition.enum
  body: (_)) @definition.enum

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name.definition.module) @definition.module

(type_definition
  declarator: (type_identifier) @name.definition.type) @definition.type

(alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type

(preproc_function_def
  name: (identifier) @name.definition.macro) @definition.macro

(preproc_def
  name: (identifier) @name.definition.macro) @definition.macro

(call_expression
  function: [(identifier) @name.reference.call
             (qualified_identifier name: (identifier) @name.reference.call)
             (field_expression field: (field_identifier) @name.reference.call)
             (template_function name: (identifier) @name.reference.call)]) @reference.call

(new_expression
  type: [(type_identifier) @name.reference.call
         (qualified_identifier name: (type_identifier) @name.reference.call)]) @reference.call

; Definition names are dropped from references by the chunker, so this broad pattern is safe.
((type_identifier) @name.reference.type @reference.type)

(preproc_include
  path: [(string_literal) (system_lib_string)] @name.reference.import) @reference.import

(using_declaration) @reference.import
