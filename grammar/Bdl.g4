// The one grammar of BDL (LANGUAGE.md sections 1-6). The parser is generated
// from this file at build time; AstBuilder turns its parse tree into the AST.
//
// Newlines are plain white space: statements need no separator because no
// statement can continue an expression (none starts with an operator or a
// bracket). The duration units are keywords only after a number and stay
// usable as names through the `ident` rule; `every`, `with` and `keep` are
// reserved, so a train clause is never mistaken for the next item.
grammar Bdl;

@parser::members {
  // A statement's value starts on the line of its `=`, `<-` or `return`:
  // otherwise a missing value would silently take the next line's first
  // name, and the error would land a statement too late.
  bool valueOnSameLine() { return _input->LT(1)->getLine() == _input->LT(-1)->getLine(); }
  // After a binary operator that ends a line, a line starting `name =` or
  // `name <-` is the next statement, not the missing operand.
  bool operandFollows() {
    antlr4::Token* next = _input->LT(1);
    if (next->getLine() == _input->LT(-1)->getLine() || next->getType() != IDENT) return true;
    size_t after = _input->LA(2);
    return after != ASSIGN && after != UPDATE;
  }
}

file : topLevel* EOF ;

topLevel
  : importDecl
  | defDecl
  | pipelineDecl
  | trainDecl
  ;

importDecl : IMPORT (dottedName | STRING) (AS alias=ident)? ;

dottedName : ident ('.' ident)* ;

defDecl
  : kind=(DEF | MODEL) name=ident '(' paramList? ')' ('->' resultTypes)? block
  ;

paramList : paramDecl (',' paramDecl)* ','? ;

paramDecl : name=ident ':' typeExpr ('=' defaultValue=expr)? ;

resultTypes
  : typeExpr                              # singleResult
  | '(' typeExpr (',' typeExpr)* ','? ')' # tupleResult
  ;

typeExpr : name=ident ('[' dimList? ']')? ;

dimList : expr (',' expr)* ','? ;

block : '{' statement* '}' ;

statement
  : PARAM name=ident ':' typeExpr '=' {valueOnSameLine()}? init=expr # paramStmt
  | STATE name=ident ':' typeExpr '=' {valueOnSameLine()}? init=expr # stateStmt
  | name=ident '<-' {valueOnSameLine()}? value=expr              # updateStmt
  | ident (',' ident)* '=' {valueOnSameLine()}? value=expr       # assignStmt
  | RETURN {valueOnSameLine()}? expr (',' expr)*                 # returnStmt
  | FOR var=ident IN from=expr '..' to=expr block                # forStmt
  | ifStatement                                                  # ifStmt
  ;

ifStatement : IF cond=expr then=block (ELSE (elseIf=ifStatement | otherwise=block))? ;

pipelineDecl : PIPELINE name=ident ('(' paramList? ')')? '=' body=expr ;

trainDecl : TRAIN name=ident '{' trainItem* '}' ;

// `every` takes a duration, `with` a list of metrics, `keep` a count; the
// narrow forms keep a missing value from swallowing the next item.
trainItem
  : name=ident '=' {valueOnSameLine()}? value=expr
    (EVERY every=durationExpr)? (WITH with=listExpr)? (KEEP keep=intExpr)?
  ;

durationExpr : INT durationUnit ;
listExpr : '[' (expr (',' expr)* ','?)? ']' ;
intExpr : INT ;

// Expressions, lowest precedence first. Each binary level is a flat list so
// that long operator chains do not make the parse tree deep.
expr
  : lambdaExpr
  | pipeExpr
  ;

lambdaExpr
  : ident '=>' body=expr                                   # singleParamLambda
  | '(' (ident (',' ident)*)? ')' '=>' body=expr           # multiParamLambda
  ;

pipeExpr : orExpr ('|>' {operandFollows()}? orExpr)* ;

orExpr : andExpr ('||' {operandFollows()}? andExpr)* ;

andExpr : compareExpr ('&&' {operandFollows()}? compareExpr)* ;

compareExpr : addExpr (op=('<' | '<=' | '>' | '>=' | '==' | '!=') {operandFollows()}? addExpr)? ;

addExpr : mulExpr (addOp {operandFollows()}? mulExpr)* ;

addOp : '+' | '-' ;

mulExpr : unaryExpr (mulOp {operandFollows()}? unaryExpr)* ;

mulOp : '*' | '/' | '%' | '@' ;

unaryExpr
  : op=('-' | '!') unaryExpr
  | postfixExpr
  ;

postfixExpr : primary postfix* ;

postfix
  : '(' argList? ')'          # callSuffix
  | '[' indexList ']'         # indexSuffix
  | '.' ident                 # memberSuffix
  ;

argList : arg (',' arg)* ','? ;

// Clause words are fine as argument names: step_lr(every = 2 epochs).
arg : (name=argName '=')? expr ;

argName : ident | EVERY | WITH | KEEP ;

indexList : indexItem (',' indexItem)* ','? ;

indexItem
  : lo=expr? ':' hi=expr?     # sliceIndex
  | expr                      # singleIndex
  ;

primary
  : durationExpr              # durationLiteral
  | INT                       # intLiteral
  | FLOAT                     # floatLiteral
  | STRING                    # stringLiteral
  | (TRUE | FALSE)            # boolLiteral
  | ident                     # nameRef
  | '(' expr ')'              # parenExpr
  | '(' expr ',' (expr (',' expr)*)? ','? ')' # tupleExpr
  | listExpr                  # listLiteral
  ;

durationUnit : EPOCH | EPOCHS | ITERATION | ITERATIONS ;

ident
  : IDENT
  | EPOCH | EPOCHS | ITERATION | ITERATIONS
  ;

// Keywords of LANGUAGE.md section 1.
IMPORT   : 'import' ;
AS       : 'as' ;
DEF      : 'def' ;
MODEL    : 'model' ;
PARAM    : 'param' ;
STATE    : 'state' ;
RETURN   : 'return' ;
FOR      : 'for' ;
IN       : 'in' ;
IF       : 'if' ;
ELSE     : 'else' ;
PIPELINE : 'pipeline' ;
TRAIN    : 'train' ;
TRUE     : 'true' ;
FALSE    : 'false' ;
// Train clauses.
EVERY      : 'every' ;
WITH       : 'with' ;
KEEP       : 'keep' ;
// Duration units, usable as names elsewhere (see `ident`).
EPOCH      : 'epoch' ;
EPOCHS     : 'epochs' ;
ITERATION  : 'iteration' ;
ITERATIONS : 'iterations' ;

// Punctuation, named so that diagnostics can refer to it.
LPAREN : '(' ;  RPAREN : ')' ;  LBRACK : '[' ;  RBRACK : ']' ;
LBRACE : '{' ;  RBRACE : '}' ;  COMMA : ',' ;   COLON : ':' ;
DOT : '.' ;     RANGE : '..' ;  ARROW : '->' ;  FAT_ARROW : '=>' ;
ASSIGN : '=' ;  UPDATE : '<-' ; PIPE : '|>' ;   OROR : '||' ;
ANDAND : '&&' ; LT : '<' ;      LE : '<=' ;     GT : '>' ;
GE : '>=' ;     EQ : '==' ;     NE : '!=' ;     PLUS : '+' ;
MINUS : '-' ;   STAR : '*' ;    SLASH : '/' ;   PERCENT : '%' ;
AT : '@' ;      BANG : '!' ;

IDENT : [A-Za-z_] [A-Za-z0-9_]* ;

// A float needs a digit after its point so that `0..n` lexes as a range.
FLOAT
  : [0-9]+ '.' [0-9]+ EXPONENT?
  | [0-9]+ EXPONENT
  ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
INT : [0-9]+ ;

STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;

LINE_COMMENT  : '//' ~[\r\n]* -> channel(HIDDEN) ;
BLOCK_COMMENT : '/*' .*? '*/' -> channel(HIDDEN) ;
// Matches only when no '*/' follows, so it never beats BLOCK_COMMENT.
UNTERMINATED_COMMENT : '/*' (~'*' | '*'+ ~[*/])* '*'* EOF ;
WS : [ \t\r\n\f]+ -> skip ;
// Anything else is one bad character, reported by the parser's error
// listener rather than by the lexer.
BAD_CHAR : . ;
